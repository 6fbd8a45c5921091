"""Property-based messages on the `sms-outbox` queue (tests/fuzz/outbox.py): the run goes on
in a process and on a stack of its own while the HTTP tests run; this test waits for it."""

from __future__ import annotations

import pytest

from tests.fuzz.outbox import QUEUE
from tests.fuzz.outbox_run import OutboxRun
from tests.fuzz.probe import TALLY
from tests.fuzz.profiles import Profile

pytestmark = pytest.mark.fuzz


def test_fuzz_outbox_any_message_processed_or_dead_lettered_never_retried(
    outbox_run: OutboxRun | None, profile: Profile,
) -> None:
    assert outbox_run is not None, "the outbox run starts whenever this test is selected"

    outbox_run.result(timeout=profile.requests * 0.5)  # a message takes ~0.05 s

    assert TALLY.sent[QUEUE] >= profile.requests, \
        f"{TALLY.sent[QUEUE]} messages, {profile.requests} due"
