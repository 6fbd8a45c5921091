"""Fuzz tier fixtures: the function app under the local host (as in tests/e2e, with the queue
triggers off: the outbox run has a host of its own), caller credentials, the checking probe,
the run profile (tests/fuzz/profiles.py), the outbox run in the background, and the
per-endpoint request totals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.client import EmulatorClient
from tests.e2e.conftest import (  # noqa: F401
    Functions,
    WebRoot,
    openapi,
    run_functions,
    web_root,
)
from tests.fuzz.campaign import HttpRun
from tests.fuzz.effects import SideEffects
from tests.fuzz.endpoints import ROLES
from tests.fuzz.outbox_run import OutboxRun
from tests.fuzz.probe import TALLY, Probe
from tests.fuzz.profiles import Profile, current
from tests.fuzz.tokens import Credentials

# The HTTP tests' host leaves these off: queue messages are the outbox run's, on its own host.
_QUEUE_TRIGGERS = ("SmsOutbox", "IdentityEvents")


@pytest.fixture(scope="session")
def profile() -> Profile:
    return current()


@pytest.fixture(scope="package")
def functions(app_settings: dict[str, str], web_root: WebRoot,  # noqa: F811
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Functions]:
    off = {f"AzureWebJobs.{name}.Disabled": "true" for name in _QUEUE_TRIGGERS}
    with run_functions(app_settings, tmp_path_factory.mktemp("fuzz-host"), web_root.origin,
                       off) as running:
        yield running


@pytest.fixture(scope="package")
def credentials(emulator_settings: dict[str, str]) -> Credentials:
    roles = tuple(sorted({role for needed in ROLES.values() for role in needed}))
    return Credentials.mint(EmulatorClient(emulator_settings), roles)


@pytest.fixture(scope="package", autouse=True)
def quiet_clients() -> Iterator[None]:
    """This process only runs test clients here (the service logs to the host log): their
    per-request debug lines, thousands per test, would only slow the run."""
    names = ("urllib3.connectionpool", "azure.core.pipeline.policies.http_logging_policy")
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.WARNING)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="package", autouse=True)
def outbox_run(request: pytest.FixtureRequest, azurite: dict[str, str],
               web_root: WebRoot,  # noqa: F811
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutboxRun | None]:
    """The outbox run (tests/fuzz/outbox_run.py), started with the package's first test when
    the outbox test is selected; that test waits for it and reports its outcome."""
    if not any(item.path.name == "test_queue.py" for item in request.session.items):
        yield None
        return
    run = OutboxRun(azurite, tmp_path_factory.mktemp("fuzz-outbox"), web_root.origin)
    try:
        yield run
    finally:
        run.stop()


def _probe(functions: Functions, emulator: EmulatorClient, azurite: dict[str, str],
           spec: dict[str, Any]) -> Probe:
    tables = [functions.settings["IDENTITY_TABLE_NAME"],
              functions.settings["SMS_IDEMPOTENCY_TABLE_NAME"]]
    effects = SideEffects(emulator, azurite["AZURITE_CONNECTION_STRING"], tables)
    return Probe(functions.url, spec, effects)


@pytest.fixture(scope="package")
def http_run(request: pytest.FixtureRequest, functions: Functions,
             emulator_settings: dict[str, str], azurite: dict[str, str],
             openapi: dict[str, Any], credentials: Credentials,  # noqa: F811
             profile: Profile) -> Iterator[HttpRun]:
    """The selected operations' fuzz runs (tests/fuzz/campaign.py), started with the first
    test that needs them, on one probe over a freshly reset emulator."""
    selected = [item.callspec.params["endpoint"] for item in request.session.items
                if item.path.name == "test_http.py" and hasattr(item, "callspec")]
    emulator = EmulatorClient(emulator_settings)
    emulator.reset()
    run = HttpRun(_probe(functions, emulator, azurite, openapi), credentials, profile,
                  selected)
    yield run
    run.finish()


@pytest.fixture
def probe(functions: Functions, emulator: EmulatorClient, azurite: dict[str, str],
          openapi: dict[str, Any], http_run: HttpRun) -> Probe:  # noqa: F811
    """A probe of its own, once the HTTP runs are over (their checks must see only theirs)."""
    http_run.finish()
    return _probe(functions, emulator, azurite, openapi)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY.sent:
        terminalreporter.section("fuzz requests")
        for line in TALLY.lines():
            terminalreporter.write_line(line)
