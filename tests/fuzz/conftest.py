"""Fuzz tier fixtures: the function app under the local host (as in tests/e2e), caller
credentials, the checking probe, the run profile, and the per-endpoint request totals.

Profiles (env FUZZ_PROFILE): `ci` (default, inside `make test`) runs a fixed number of
derandomized examples, so a CI failure reproduces exactly; `fuzz` (`make fuzz`) runs ten times
more with a fresh random seed each run, to explore (hypothesis prints the seed of a failure).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from emulator.client import EmulatorClient
from tests.e2e.conftest import (  # noqa: F401
    Functions,
    functions,
    openapi,
    outbox_queues,
    web_root,
)
from tests.fuzz.effects import SideEffects
from tests.fuzz.endpoints import ROLES
from tests.fuzz.probe import TALLY, Probe
from tests.fuzz.tokens import Credentials

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Profile:
    name: str
    requests: int  # per endpoint, and queue messages
    settings: settings


_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
           HealthCheck.large_base_example]
PROFILES = {
    "ci": Profile("ci", 500, settings(
        max_examples=500, derandomize=True, deadline=None, database=None,
        suppress_health_check=_HEALTH, print_blob=True)),
    "fuzz": Profile("fuzz", 5000, settings(
        max_examples=5000, derandomize=False, deadline=None, database=None,
        suppress_health_check=_HEALTH, print_blob=True)),
}


@pytest.fixture(scope="session")
def profile() -> Profile:
    name = os.environ.get("FUZZ_PROFILE", "ci")
    assert name in PROFILES, f"FUZZ_PROFILE must be one of {sorted(PROFILES)}, not {name!r}"
    return PROFILES[name]


@pytest.fixture(scope="package")
def credentials(emulator_settings: dict[str, str]) -> Credentials:
    roles = tuple(sorted({role for needed in ROLES.values() for role in needed}))
    return Credentials.mint(EmulatorClient(emulator_settings), roles)


@pytest.fixture
def host_log_clean(functions: Functions) -> Iterator[None]:  # noqa: F811
    """The local host runs out of process: its log gets no token and no traceback."""
    start = functions.log.stat().st_size
    yield
    with functions.log.open("rb") as log:
        log.seek(start)
        text = log.read().decode("utf-8", errors="replace")
    leaks = [line[:120] for line in text.splitlines() if _JWT.search(line)]
    assert not leaks, f"tokens in the host log: {leaks[:3]}"
    traces = [line for line in text.splitlines() if "Traceback" in line]
    assert not traces, f"{len(traces)} tracebacks in the host log, e.g.\n{_around(text)}"


def _around(text: str) -> str:
    index = text.index("Traceback")
    return text[max(0, index - 300):index + 1500]


@pytest.fixture
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


@pytest.fixture
def probe(functions: Functions, emulator: EmulatorClient,  # noqa: F811
          azurite: dict[str, str], openapi: dict[str, Any],  # noqa: F811
          quiet_clients: None) -> Probe:
    tables = [functions.settings["IDENTITY_TABLE_NAME"],
              functions.settings["SMS_IDEMPOTENCY_TABLE_NAME"]]
    effects = SideEffects(emulator, azurite["AZURITE_CONNECTION_STRING"], tables)
    return Probe(functions.url, openapi, effects)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY.sent:
        terminalreporter.section("fuzz requests")
        for line in TALLY.lines():
            terminalreporter.write_line(line)
