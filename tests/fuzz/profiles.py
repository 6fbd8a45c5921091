"""The fuzz tier's run profiles (env FUZZ_PROFILE): `ci` (default, inside `make test`) runs a
fixed number of derandomized examples, so a CI failure reproduces exactly; `fuzz`
(`make fuzz`) runs ten times more with a fresh random seed each run, to explore (hypothesis
prints the seed of a failure).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import HealthCheck, settings


@dataclass(frozen=True)
class Profile:
    name: str
    requests: int  # per endpoint, and queue messages
    settings: settings
    queues: tuple[str, ...]  # trigger queues fuzzed (tests/fuzz/outbox_run.py)


_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
           HealthCheck.large_base_example]
PROFILES = {
    "ci": Profile("ci", 500, settings(
        max_examples=500, derandomize=True, deadline=None, database=None,
        suppress_health_check=_HEALTH, print_blob=True),
        # identity-events too would add ~30 s on two shared cores (README, Fuzzing).
        ("sms-outbox",)),
    "fuzz": Profile("fuzz", 5000, settings(
        max_examples=5000, derandomize=False, deadline=None, database=None,
        suppress_health_check=_HEALTH, print_blob=True),
        ("sms-outbox", "identity-events")),
}


def current() -> Profile:
    name = os.environ.get("FUZZ_PROFILE", "ci")
    assert name in PROFILES, f"FUZZ_PROFILE must be one of {sorted(PROFILES)}, not {name!r}"
    return PROFILES[name]
