"""The run command as a developer uses it: start, publish settings, answer, stop cleanly."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests

from devhost.quickstart import EXAMPLE_WEB_ORIGINS, app_settings, render
from devhost.services import start_emulator
from devhost.stack import Stopped, Stopping, write_local_settings
from emulator.client import EmulatorClient
from tests.devhost.apps import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not Path("/proc").is_dir(), reason="child processes are found through /proc"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    waiting = [pid]
    while waiting:
        children = _children(waiting.pop())
        found += children
        waiting += children
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_stack(tmp_path: Path, *args: str, env: dict[str, str] | None = None
                 ) -> subprocess.Popen[bytes]:
    log = (tmp_path / "stack.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "devhost.stack", "--settings-file",
         str(tmp_path / "local" / "settings.json"), *args],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )


@pytest.fixture
def stack_process(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; any still running at the end is interrupted, then killed."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _settings(tmp_path: Path, process: subprocess.Popen[bytes]) -> dict[str, str]:
    path = tmp_path / "local" / "settings.json"

    def ready() -> dict[str, str] | None:
        if process.poll() is not None:
            log = (tmp_path / "stack.log").read_text(errors="replace")
            raise AssertionError(f"the stack exited early ({process.returncode}):\n{log}")
        return json.loads(path.read_text()) if path.exists() else None

    return wait_for(ready, timeout=120, what="the stack's settings file")


def test_stack_start_publishes_settings_serves_and_sigint_stops_children(
    tmp_path: Path, stack_process: list[subprocess.Popen[bytes]]
) -> None:
    port = _free_port()
    process = _start_stack(tmp_path, "--port", str(port), "--local-host")
    stack_process.append(process)

    settings = _settings(tmp_path, process)
    children = _children(process.pid)

    assert settings["FUNCTIONS_URL"] == f"http://localhost:{port}"
    assert settings["FUNCTIONS_KEY"]
    assert {"ACS_ENDPOINT", "AUTH_ISSUER", "EMULATOR_ADMIN", "REQUESTS_CA_BUNDLE",
            "AZURITE_CONNECTION_STRING", "IDENTITY_ENDPOINT"} <= settings.keys()
    not_allowed = requests.get(f"{settings['FUNCTIONS_URL']}/api/identities", timeout=10)
    assert not_allowed.status_code == 405
    assert requests.get(f"{settings['EMULATOR_ADMIN']}/sms", timeout=10,
                        verify=settings["REQUESTS_CA_BUNDLE"]).ok
    assert len(children) == 3  # emulator, Azurite, functions
    assert "Mint an app-user token" in (tmp_path / "stack.log").read_text()
    # The example web client's origin may call the functions (Host.CORS written by the stack).
    preflight = requests.options(f"{settings['FUNCTIONS_URL']}/api/token", timeout=10, headers={
        "Origin": EXAMPLE_WEB_ORIGINS[0], "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == EXAMPLE_WEB_ORIGINS[0]

    process.send_signal(signal.SIGINT)

    assert process.wait(60) == 0
    assert [pid for pid in children if _alive(pid)] == []
    assert not (tmp_path / "local" / "settings.json").exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{settings['FUNCTIONS_URL']}/api/identities", timeout=5)


def test_stack_sigterm_stops_children(
    tmp_path: Path, stack_process: list[subprocess.Popen[bytes]]
) -> None:
    process = _start_stack(tmp_path, "--port", str(_free_port()), "--local-host")
    stack_process.append(process)
    _settings(tmp_path, process)
    children = _children(process.pid)

    process.terminate()

    assert process.wait(60) == 0
    assert children and [pid for pid in children if _alive(pid)] == []
    assert not (tmp_path / "local" / "settings.json").exists()


def _stop_leftovers(pids: list[int]) -> None:
    """After a failed assertion, leave no process of this test behind."""
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stack_make_run_signal_to_make_pid_stops_every_process_removes_settings(
    tmp_path: Path, stack_process: list[subprocess.Popen[bytes]], signum: signal.Signals
) -> None:
    settings_file = tmp_path / "local" / "settings.json"
    arguments = f"--port {_free_port()} --local-host --settings-file {settings_file}"
    with (tmp_path / "stack.log").open("wb") as log:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-s", "-C", str(REPO_ROOT), "run",
             f"ARGS={arguments}"], stdout=log, stderr=subprocess.STDOUT,
        )
    stack_process.append(make)
    _settings(tmp_path, make)
    started = _descendants(make.pid)
    try:
        assert len(started) >= 4  # the stack, the emulator, Azurite, the functions

        # What a process manager does: signal make's pid, not its process group.
        make.send_signal(signum)

        make.wait(60)
        assert [pid for pid in started if _alive(pid)] == []
        assert not settings_file.exists()
    finally:
        _stop_leftovers(started)


def test_stack_stop_with_parent_parent_killed_stops_every_process(
    tmp_path: Path, stack_process: list[subprocess.Popen[bytes]]
) -> None:
    settings_file = tmp_path / "local" / "settings.json"
    # A shell that stays the stack's parent (`; :` keeps it from exec-ing the stack).
    with (tmp_path / "stack.log").open("wb") as log:
        parent = subprocess.Popen(
            ["/bin/sh", "-c", '"$0" "$@"; :', sys.executable, "-m", "devhost.stack",
             "--stop-with-parent", "--port", str(_free_port()), "--local-host",
             "--settings-file", str(settings_file)],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
    stack_process.append(parent)
    _settings(tmp_path, parent)
    started = _descendants(parent.pid)
    try:
        parent.kill()  # the parent dies without a word; the stack sees it re-parented
        parent.wait(10)

        wait_for(lambda: not any(_alive(pid) for pid in started) or None, timeout=60,
                 what="every process the stack started to stop")
        assert not settings_file.exists()
    finally:
        _stop_leftovers(started)


def test_stack_signal_is_only_recorded_and_raised_where_the_stack_checks() -> None:
    stopping = Stopping()
    stopping.check()  # nothing received yet
    # The handler must not raise: a signal can land inside Popen.wait while it holds its lock.
    stopping.on_signal(signal.SIGTERM, None)
    stopping.on_signal(signal.SIGINT, None)
    with pytest.raises(Stopped, match="SIGTERM"):
        stopping.check()


def test_stack_stop_while_a_service_starts_stops_that_service(tmp_path: Path) -> None:
    checks: list[None] = []

    def check() -> None:
        checks.append(None)
        if len(checks) == 2:
            raise Stopped("SIGINT")

    before = set(_children(os.getpid()))
    with pytest.raises(Stopped):
        start_emulator(workdir=tmp_path, check=check)
    started = [pid for pid in _children(os.getpid()) if pid not in before]
    assert len(checks) == 2
    assert not [pid for pid in started if _alive(pid)]


@pytest.mark.parametrize("option", ["--port", "--emulator-port", "--azurite-queue-port"])
def test_stack_port_in_use_clear_error_exit_2(
    tmp_path: Path, stack_process: list[subprocess.Popen[bytes]], option: str
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        args = ["--port", str(_free_port()), option, str(taken)]
        process = _start_stack(tmp_path, *args)
        stack_process.append(process)

        assert process.wait(60) == 2

    output = (tmp_path / "stack.log").read_text()
    assert f"port {taken} ({option}) is already in use" in output
    assert not (tmp_path / "local" / "settings.json").exists()


def test_stack_core_tools_on_path_runs_func_start_with_local_settings(
    tmp_path: Path, stack_process: list[subprocess.Popen[bytes]]
) -> None:
    app_root = tmp_path / "app"
    shutil.copytree(REPO_ROOT, app_root, ignore=shutil.ignore_patterns(
        ".*", "node_modules", "tests", "bench", "emulator", "devhost", "__pycache__",
        "local.settings.json",
    ))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_func = bin_dir / "func"
    # Stands in for Core Tools: records its arguments, then serves with the local host
    # using the local.settings.json the stack wrote into the app root.
    fake_func.write_text(
        f"#!/bin/sh\necho \"$@\" > {tmp_path / 'func-args'}\n"
        f"PYTHONPATH={REPO_ROOT} exec {sys.executable} -m devhost --port \"$3\" "
        "--settings-file local.settings.json\n"
    )
    fake_func.chmod(fake_func.stat().st_mode | stat.S_IEXEC)
    port = _free_port()
    process = _start_stack(
        tmp_path, "--port", str(port), "--app-root", str(app_root),
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
    )
    stack_process.append(process)

    settings = _settings(tmp_path, process)

    assert (tmp_path / "func-args").read_text().split() == ["start", "--port", str(port)]
    written = json.loads((app_root / "local.settings.json").read_text())
    values = written["Values"]
    assert written["Host"] == {"CORS": ",".join(EXAMPLE_WEB_ORIGINS), "CORSCredentials": False}
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsStorage"] == settings["AZURITE_CONNECTION_STRING"]
    assert values["IDENTITY_TABLE_ENDPOINT"] == settings["AZURITE_CONNECTION_STRING"]
    assert values["ACS_ENDPOINT"] == settings["ACS_ENDPOINT"]
    assert "EMULATOR_CONNECTION_STRING" not in values
    assert settings["FUNCTIONS_KEY"] == ""
    assert requests.post(f"{settings['FUNCTIONS_URL']}/api/token", timeout=10).status_code == 401


def test_stack_local_settings_keeps_developer_values(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text(json.dumps(
        {"IsEncrypted": False, "Values": {"MY_FLAG": "1", "ACS_ENDPOINT": "old"},
         "Host": {"CORS": "*"}}
    ))

    written = json.loads(write_local_settings(tmp_path, {"ACS_ENDPOINT": "new"}).read_text())

    assert written["Values"] == {"MY_FLAG": "1", "ACS_ENDPOINT": "new"}
    assert written["Host"] == {"CORS": "*"}


def test_stack_quickstart_uses_published_urls() -> None:
    settings = {
        "ACS_ENDPOINT": "https://127.0.0.1:1", "AUTH_ISSUER": "https://127.0.0.1:1/oidc",
        "AUTH_AUDIENCE": "api://x", "SMS_FROM": "+18005550100",
        "IDENTITY_ENDPOINT": "https://127.0.0.1:1/msi", "IDENTITY_HEADER": "h",
        "REQUESTS_CA_BUNDLE": "/tmp/ca.pem", "EMULATOR_ADMIN": "https://127.0.0.1:1/admin",
        "EMULATOR_CONNECTION_STRING": "endpoint=https://127.0.0.1:1/;accesskey=eA==",
        "FUNCTIONS_URL": "http://localhost:7071", "FUNCTIONS_KEY": "k",
    }

    text = render(settings, Path(".local/settings.json"), "local host")
    app = app_settings(settings, {"AZURITE_CONNECTION_STRING": "UseDevelopmentStorage=true"})

    assert "https://127.0.0.1:1/oidc/token" in text
    assert "--cacert /tmp/ca.pem" in text
    for route in ("/api/identities", "/api/token", "/api/sms", "sms-outbox", "/admin/sms",
                  "/api/identities/me/revoke", "/api/users/sub%3Aalice/identity",
                  "identity-events"):
        assert route in text
    assert '"roles": ["Sms.Send"]' in text
    assert "EMULATOR_CONNECTION_STRING" not in app


def test_stack_quickstart_token_commands_run_without_python_on_path(
    emulator: EmulatorClient,
) -> None:
    settings = {**emulator.settings, "FUNCTIONS_URL": "http://localhost:7071",
                "FUNCTIONS_KEY": ""}
    text = render(settings, Path(".local/settings.json"), "local host")
    commands = re.findall(r"^ *(\w+)=\$\((curl .+)\)$", text, re.MULTILINE)

    assert [name for name, _ in commands] == ["TOKEN", "ADMIN", "SENDER"]
    assert re.search(r"(?:^|[\s|(])python3?\s", text) is None  # no interpreter looked up on PATH
    for _, command in commands:
        fetch, parse = command.split(" | ", 1)
        request = re.search(r"-d '(.+?)'", fetch)
        assert request
        body = json.loads(request.group(1))
        issued = emulator.http.post(f"{emulator.issuer}/token", json=body, timeout=10)
        # The step after the pipe is what failed where only `python3` exists: run it with a
        # PATH that holds no interpreter at all, on the issuer's real answer.
        parsed = subprocess.run(["/bin/sh", "-c", parse], input=issued.text, text=True,
                                capture_output=True, env={"PATH": "/nonexistent"}, timeout=30)
        assert parsed.returncode == 0, parsed.stderr
        claims = jwt.decode(parsed.stdout.strip(), options={"verify_signature": False})
        assert {key: claims[key] for key in body} == body
