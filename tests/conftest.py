"""Session fixtures: the ACS emulator and Azurite, each started once on free loopback ports."""

from __future__ import annotations

import importlib
import logging
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.app import load_app
from devhost.services import Service, start_azurite, start_emulator
from devhost.worker import local_worker_python
from emulator.client import EmulatorClient
from shared.services import use_services
from tests.unit.wire import WireServer

# A JWT (app-user, managed identity or ACS user token) anywhere in a log line is a leak.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


class _RecordingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append((record.name, text))


@pytest.fixture(autouse=True)
def no_tokens_in_logs() -> Iterator[None]:
    """Every test, at every level: no log record written in this process contains a token."""
    handler = _RecordingHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    leaks = [name for name, text in handler.lines if _JWT.search(text)]
    assert not leaks, f"a token was logged by: {sorted(set(leaks))}"


# What the service's outbound clients read from the environment to reach the emulator.
_EMULATOR_ENV = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE")


@pytest.fixture(scope="session")
def emulator_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start_emulator(workdir=tmp_path_factory.mktemp("emulator"))
    saved = {name: os.environ.get(name) for name in _EMULATOR_ENV}
    os.environ.update({name: service.settings[name] for name in _EMULATOR_ENV})
    try:
        yield service
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        service.stop()


@pytest.fixture(scope="session")
def emulator_settings(emulator_service: Service) -> dict[str, str]:
    return dict(emulator_service.settings)


@pytest.fixture
def emulator(emulator_service: Service) -> EmulatorClient:
    """The running emulator, reset to an empty state (no faults, counters at zero)."""
    client = EmulatorClient(emulator_service.settings)
    client.reset()
    return client


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Azurite's settings: AZURITE_CONNECTION_STRING and the blob/queue/table endpoints."""
    service = start_azurite(workdir=tmp_path_factory.mktemp("azurite"))
    try:
        yield dict(service.settings)
    finally:
        service.stop()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def vendored_specs(repo_root: Path) -> Path:
    """The repository's own copy of the official specs and schemas (`specs/README.md`)."""
    return repo_root / "specs"


@pytest.fixture(scope="session")
def app_settings(emulator_settings: dict[str, str], azurite: dict[str, str]) -> dict[str, str]:
    """The function app's settings for a local run against the emulator and Azurite."""
    return function_app_settings(emulator_settings, azurite)


def function_app_settings(emulator_settings: dict[str, str], azurite: dict[str, str]
                          ) -> dict[str, str]:
    """What `app_settings` holds, for any running emulator and Azurite."""
    return {
        "ACS_ENDPOINT": emulator_settings["ACS_ENDPOINT"],
        "AUTH_ISSUER": emulator_settings["AUTH_ISSUER"],
        "AUTH_AUDIENCE": emulator_settings["AUTH_AUDIENCE"],
        "SMS_FROM": emulator_settings["SMS_FROM"],
        "IDENTITY_TABLE_ENDPOINT": azurite["AZURITE_CONNECTION_STRING"],
        "AzureWebJobsStorage": azurite["AZURITE_CONNECTION_STRING"],
        "IDENTITY_ENDPOINT": emulator_settings["IDENTITY_ENDPOINT"],
        "IDENTITY_HEADER": emulator_settings["IDENTITY_HEADER"],
        "REQUESTS_CA_BUNDLE": emulator_settings["REQUESTS_CA_BUNDLE"],
    }


@pytest.fixture
def app_env(
    app_settings: dict[str, str], emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The process environment of a function app instance; services rebuilt fresh per test.

    Each test gets new tables (unique names), so identity maps and idempotency records of
    one test never leak into another.
    """
    suffix = uuid.uuid4().hex[:12]
    settings = {
        **app_settings,
        "IDENTITY_TABLE_NAME": f"ids{suffix}",
        "SMS_IDEMPOTENCY_TABLE_NAME": f"idem{suffix}",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    use_services(None)
    try:
        yield settings
    finally:
        use_services(None)


@pytest.fixture(scope="session", autouse=True)
def functions_run_by_worker(repo_root: Path) -> Iterator[None]:
    """Every `<Folder>.main` a test calls runs in azure-functions-runtime-v1, in this process.

    The worker library loads each folder as `__app__.<Folder>`, binds the trigger from the
    FunctionRpc message the host would send, and reports a raised exception as the worker does
    (`devhost.inprocess.FunctionFailed`); settings, services and patches are this process's,
    so the function-level tests keep their fixtures. The library needs Python 3.13+: on 3.11
    and 3.12 `main` is called directly, and the report header says which.
    """
    if local_worker_python() is None:
        yield
        return
    from devhost.inprocess import InProcessWorker, load_entry_points

    specs = list(load_app(repo_root).functions)
    # Any: a function module's `main` is replaced, which its own type does not allow.
    modules: dict[str, Any] = {spec.name: importlib.import_module(spec.name) for spec in specs}
    originals = {name: module.main for name, module in modules.items()}
    # 32 threads, not the library's default of CPUs + 4: the race tests' concurrent calls stand
    # for requests on several instances, and must all be running at once.
    worker = InProcessWorker(repo_root, threads=32)
    worker.start()
    try:
        for name, entry in load_entry_points(worker, specs, originals).items():
            modules[name].main = entry
        yield
    finally:
        for name, module in modules.items():
            module.main = originals[name]
        worker.stop()


def pytest_report_header() -> str:
    """Say which Python worker runs the functions: the real one or the imitation."""
    worker = os.environ.get("DEVHOST_WORKER_PYTHON") or local_worker_python()
    if local_worker_python():
        calls = "function-level calls and the local host: azure-functions-runtime-v1"
    else:
        calls = "function-level calls: direct; local host: the imitation (worker needs 3.13+)"
    return f"{calls}; parity worker: {worker or 'none'}"


@pytest.fixture
def wire_servers() -> Iterator[list[WireServer]]:
    """Scripted loopback servers a test starts (it appends them); each is stopped at its end."""
    servers: list[WireServer] = []
    yield servers
    for server in servers:
        server.stop()
