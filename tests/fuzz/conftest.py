"""Fuzz tier fixtures: the function app under the local host (as in tests/e2e, with the queue
triggers off: the outbox run has a host of its own), caller credentials, the checking probe,
the run profile (tests/fuzz/profiles.py), the HTTP run's lanes (on the session's stack, and in
a process and on a stack of its own) and the queue runs in the background, and the
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
    web_root,
)
from tests.fuzz.campaign import Campaign, HttpRun, Lane
from tests.fuzz.child import ChildRun
from tests.fuzz.effects import SideEffects
from tests.fuzz.probe import TALLY, Probe
from tests.fuzz.profiles import Profile, current
from tests.fuzz.stacks import fuzz_host, table_proxy_of
from tests.fuzz.tokens import Credentials, for_endpoints

# The HTTP tests' hosts leave these off: queue messages are the outbox run's, on its own host.
_QUEUE_TRIGGERS = ("SmsOutbox", "IdentityEvents")
_TRIGGERS_OFF = {f"AzureWebJobs.{name}.Disabled": "true" for name in _QUEUE_TRIGGERS}


@pytest.fixture(scope="session")
def profile() -> Profile:
    return current()


@pytest.fixture(scope="package")
def functions(app_settings: dict[str, str], azurite: dict[str, str],
              web_root: WebRoot,  # noqa: F811
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Functions]:
    with fuzz_host(app_settings, azurite, tmp_path_factory.mktemp("fuzz-host"),
                   web_root.origin, _TRIGGERS_OFF) as running:
        yield running


@pytest.fixture(scope="package")
def credentials(emulator_settings: dict[str, str]) -> Credentials:
    return for_endpoints(EmulatorClient(emulator_settings))


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
def queue_runs(request: pytest.FixtureRequest, azurite: dict[str, str],
               web_root: WebRoot,  # noqa: F811
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ChildRun]]:
    """The selected queue runs (tests/fuzz/outbox_run.py), each in a process of its own,
    started with the package's first test; the queue test waits for each and reports it. The
    first uses the session's Azurite, any other one an Azurite of its own."""
    selected = [item.callspec.params["queue"] for item in request.session.items
                if item.path.name == "test_queue.py" and hasattr(item, "callspec")]
    runs = {queue: ChildRun("tests.fuzz.outbox_run",
                            {"queue": queue, "cors_origin": web_root.origin,
                             "azurite": azurite if index == 0 else None},
                            tmp_path_factory.mktemp(f"fuzz-{queue}"))
            for index, queue in enumerate(selected)}
    try:
        yield runs
    finally:
        for run in runs.values():
            run.stop()


def _probe(functions: Functions, emulator: EmulatorClient, spec: dict[str, Any]) -> Probe:
    return Probe(functions.url, spec, SideEffects(emulator, table_proxy_of(functions)))


@pytest.fixture(scope="package")
def http_run(request: pytest.FixtureRequest, functions: Functions,
             emulator_settings: dict[str, str], azurite: dict[str, str],
             openapi: dict[str, Any], credentials: Credentials,  # noqa: F811
             web_root: WebRoot, profile: Profile,  # noqa: F811
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    """The selected operations' fuzz runs (tests/fuzz/campaign.py), started with the first
    test that needs them: every other one on the session's stack over a freshly reset
    emulator, the rest in a lane process of its own."""
    selected = [item.callspec.params["endpoint"] for item in request.session.items
                if item.path.name == "test_http.py" and hasattr(item, "callspec")]
    local, remote = selected[::2], [e.operation_id for e in selected[1::2]]
    child = ChildRun("tests.fuzz.lane_run", {
        "azurite": azurite, "cors_origin": web_root.origin, "extra": _TRIGGERS_OFF,
        "operations": remote}, tmp_path_factory.mktemp("fuzz-lane")) if remote else None
    emulator = EmulatorClient(emulator_settings)
    emulator.reset()
    lane = Lane(functions, _probe(functions, emulator, openapi), credentials)
    campaign = Campaign(HttpRun(lane, profile, local), child, remote)
    try:
        yield campaign
    finally:
        campaign.finish()


@pytest.fixture
def probe(functions: Functions, emulator: EmulatorClient,
          openapi: dict[str, Any], http_run: Campaign) -> Probe:  # noqa: F811
    """A probe of its own, once the HTTP runs on this stack are over (their checks must see
    only theirs)."""
    http_run.local.finish()
    return _probe(functions, emulator, openapi)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY.sent:
        terminalreporter.section("fuzz requests")
        for line in TALLY.lines():
            terminalreporter.write_line(line)
