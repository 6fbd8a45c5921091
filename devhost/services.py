"""Starts and stops the local stand-ins for Azure: the ACS emulator and Azurite.

Both the run command and the test fixtures use these, so there is one way to start them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.config.settings import (  # the one definition the service accepts
    AZURITE_ACCOUNT,
    AZURITE_KEY,
)

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"

_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at (\S+)")


class ServiceStartError(RuntimeError):
    """A local service did not start; the message says why and where its log is."""


@dataclass
class Service:
    """A started child process and the settings it published."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    settings: dict[str, str] = field(default_factory=dict)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _spawn(name: str, argv: list[str], workdir: Path, env: Mapping[str, str] | None) -> Service:
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # fixed argv, no shell
            argv,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    return Service(name=name, process=process, log_path=log_path)


def _fail(service: Service, reason: str) -> ServiceStartError:
    service.stop()
    tail = _log_tail(service.log_path)
    return ServiceStartError(f"{service.name} {reason}; log {service.log_path}:\n{tail}")


def _check_waiting(service: Service, check: Callable[[], None] | None) -> None:
    """Run the caller's check while a service starts; if it raises, the service is stopped."""
    if check is None:
        return
    try:
        check()
    except BaseException:
        service.stop()
        raise


def start_emulator(
    *, workdir: Path, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0,
    check: Callable[[], None] | None = None,
) -> Service:
    """Start `python -m emulator` and wait for the settings file it writes when ready.

    `check` is called while waiting; what it raises stops the process and propagates.
    """
    settings_file = workdir / "emulator-settings.json"
    settings_file.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "emulator", "--host", host, "--port", str(port),
            "--settings-file", str(settings_file)]
    service = _spawn("emulator", argv, workdir, {"PYTHONPATH": str(REPO_ROOT)})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_waiting(service, check)
        if service.process.poll() is not None:
            raise _fail(service, f"exited with status {service.process.returncode}")
        if settings_file.exists():
            try:
                service.settings = json.loads(settings_file.read_text())
                return service
            except json.JSONDecodeError:
                pass  # written but not yet complete
        time.sleep(0.05)
    raise _fail(service, f"was not ready within {timeout:.0f}s")


def azurite_connection_string(blob: str, queue: str, table: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={blob}/{AZURITE_ACCOUNT};QueueEndpoint={queue}/{AZURITE_ACCOUNT};"
        f"TableEndpoint={table}/{AZURITE_ACCOUNT};"
    )


def start_azurite(
    *,
    workdir: Path,
    host: str = "127.0.0.1",
    blob_port: int = 0,
    queue_port: int = 0,
    table_port: int = 0,
    timeout: float = 60.0,
    check: Callable[[], None] | None = None,
) -> Service:
    """Start Azurite from the project's own npm install, in memory, telemetry off.

    `check` is called while waiting; what it raises stops the process and propagates.
    """
    if not AZURITE_BIN.exists():
        raise ServiceStartError(f"Azurite is not installed at {AZURITE_BIN}: run `make install`.")
    argv = [
        str(AZURITE_BIN), "--silent", "--inMemoryPersistence", "--disableTelemetry",
        "--skipApiVersionCheck",
        "--blobHost", host, "--blobPort", str(blob_port),
        "--queueHost", host, "--queuePort", str(queue_port),
        "--tableHost", host, "--tablePort", str(table_port),
    ]
    service = _spawn("azurite", argv, workdir, None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_waiting(service, check)
        if service.process.poll() is not None:
            raise _fail(service, f"exited with status {service.process.returncode}")
        log = service.log_path.read_text()
        found = {m.group(1): m.group(2) for m in _LISTENING.finditer(log)}
        if len(found) == 3:
            service.settings = {
                "AZURITE_BLOB_ENDPOINT": found["Blob"],
                "AZURITE_QUEUE_ENDPOINT": found["Queue"],
                "AZURITE_TABLE_ENDPOINT": found["Table"],
                "AZURITE_CONNECTION_STRING": azurite_connection_string(
                    found["Blob"], found["Queue"], found["Table"]
                ),
            }
            return service
        time.sleep(0.05)
    raise _fail(service, f"was not ready within {timeout:.0f}s")
