"""Property-based messages on the `sms-outbox` (tests/fuzz/outbox.py) and, in the `fuzz`
profile, `identity-events` (tests/fuzz/events.py) queues: the runs go on in a process and on a
stack of their own while the HTTP tests run; this test waits for each."""

from __future__ import annotations

import pytest

from tests.fuzz.child import ChildRun
from tests.fuzz.events import EVENTS
from tests.fuzz.outbox import QUEUE
from tests.fuzz.probe import TALLY
from tests.fuzz.profiles import Profile, current

pytestmark = pytest.mark.fuzz


_TALLIED = {"sms-outbox": QUEUE, "identity-events": EVENTS}


@pytest.mark.parametrize("queue", current().queues)
def test_fuzz_queue_any_message_processed_or_dead_lettered_never_retried(
    queue: str, outbox_run: ChildRun | None, profile: Profile,
) -> None:
    assert outbox_run is not None, "the queue runs start whenever this test is selected"

    failure = outbox_run.failure(queue, timeout=profile.requests * 0.5)  # ~0.05 s a message
    assert failure is None, failure

    sent = TALLY.sent[_TALLIED[queue]]
    assert sent >= profile.requests, f"{queue}: {sent} messages, {profile.requests} due"
