"""End-to-end fixtures: the repository's function app under the local host, over real HTTP.

The host runs as a subprocess (as `make run` runs it), so the functions' per-process caches
and environment are their own, against the session's emulator and Azurite.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.communication.identity import CommunicationIdentityClient
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from devhost.__main__ import KEY_VARIABLE
from emulator.client import EmulatorClient
from tests.devhost.apps import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]


class Functions:
    """The running function app: base URL, key, and where its log is."""

    def __init__(self, url: str, key: str, log: Path, settings: dict[str, str]) -> None:
        self.url = url
        self.key = key
        self.log = log
        self.settings = settings

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class WebRoot:
    """A loopback static file server (another origin than the functions) and its folder."""

    def __init__(self, folder: Path, server: ThreadingHTTPServer) -> None:
        self.folder = folder
        self.origin = f"http://127.0.0.1:{server.server_address[1]}"


class _WebRootHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines would only clutter the test output


@pytest.fixture(scope="package")
def web_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebRoot]:
    """Serves a folder the browser test fills with the built web client. Everything the page
    calls (the issuer, the functions, the Chat API) it calls cross-origin."""
    folder = tmp_path_factory.mktemp("web")
    serve = functools.partial(_WebRootHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), serve)
    thread = threading.Thread(target=server.serve_forever, name="web-root", daemon=True)
    thread.start()
    try:
        yield WebRoot(folder, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="package")
def functions(
    app_settings: dict[str, str], web_root: WebRoot, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Functions]:
    """`python -m devhost` serving this repository's functions on a free loopback port."""
    with run_functions(app_settings, tmp_path_factory.mktemp("e2e-host"),
                       web_root.origin) as running:
        yield running


@contextlib.contextmanager
def run_functions(
    app_settings: dict[str, str], workdir: Path, cors_origin: str,
    extra: dict[str, str] | None = None,
) -> Iterator[Functions]:
    """The local host on `app_settings` (plus `extra`), with tables of its own, until exit."""
    suffix = uuid.uuid4().hex[:10]
    settings = {
        **app_settings,
        "FUNCTIONS_WORKER_RUNTIME": "python",
        # Tables of their own, so nothing another test wrote is seen here.
        "IDENTITY_TABLE_NAME": f"e2eids{suffix}",
        "SMS_IDEMPOTENCY_TABLE_NAME": f"e2eidem{suffix}",
        **(extra or {}),
    }
    settings_file = workdir / "settings.json"
    # The web client's origin is allowed, as the run command allows the example's origins.
    host = {"CORS": cors_origin, "CORSCredentials": False}
    settings_file.write_text(json.dumps({"IsEncrypted": False, "Values": settings, "Host": host}))
    ready_file = workdir / "ready.json"
    log = workdir / "host.log"
    key = uuid.uuid4().hex
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "devhost", "--app-root", str(REPO_ROOT), "--port", "0",
             "--settings-file", str(settings_file), "--ready-file", str(ready_file)],
            cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT,
            env={**os.environ, KEY_VARIABLE: key, "PYTHONPATH": str(REPO_ROOT)},
        )

    def ready() -> dict[str, str] | None:
        assert process.poll() is None, log.read_text(errors="replace")
        return json.loads(ready_file.read_text()) if ready_file.exists() else None

    try:
        published = wait_for(ready, timeout=60, what="the local host")
        yield Functions(published["FUNCTIONS_URL"], published["FUNCTIONS_KEY"], log, settings)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def openapi(repo_root: Path) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((repo_root / "openapi.yaml").read_text())
    return spec


@pytest.fixture
def outbox_queues(azurite: dict[str, str]) -> Iterator[dict[str, QueueClient]]:
    """`sms-outbox` and its dead-letter queue, emptied before and after the test."""
    connection = azurite["AZURITE_CONNECTION_STRING"]
    queues = {
        name: QueueClient.from_connection_string(connection, name)
        for name in ("sms-outbox", "sms-outbox-deadletter", "sms-outbox-poison")
    }
    for client in queues.values():
        empty_queue(client)
    yield queues
    for client in queues.values():
        empty_queue(client)


def empty_queue(client: QueueClient) -> None:
    try:
        client.create_queue()
    except ResourceExistsError:
        client.clear_messages()


@pytest.fixture
def identity_admin(emulator: EmulatorClient) -> CommunicationIdentityClient:
    """The ACS Identity SDK on the emulator's HMAC key, for what the service does not expose."""
    return CommunicationIdentityClient.from_connection_string(
        emulator.settings["EMULATOR_CONNECTION_STRING"]
    )


def token_expiring_in(emulator: EmulatorClient, user_id: str, seconds: int) -> str:
    """A real ACS token for the user that expires in `seconds` (the emulator's admin API).

    ACS issues no token shorter than 60 minutes; this stands for one an app saved that long ago.
    """
    response = emulator.http.post(
        f"{emulator.admin}/tokens/issue", json={"id": user_id, "ttl": seconds}, timeout=10
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token
