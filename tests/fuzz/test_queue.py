"""Property-based messages on the `sms-outbox` (tests/fuzz/outbox.py) and `identity-events`
(tests/fuzz/events.py) queues: each queue's run goes on in a process and on a stack of its own
while the HTTP tests run; this test waits for it."""

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
    queue: str, queue_runs: dict[str, ChildRun], profile: Profile,
) -> None:
    assert queue in queue_runs, "a queue's run starts whenever its test is selected"

    failure = queue_runs[queue].failure(queue, timeout=profile.requests * 0.5)  # ~0.05 s each
    assert failure is None, failure

    sent = TALLY.sent[_TALLIED[queue]]
    assert sent >= profile.requests, f"{queue}: {sent} messages, {profile.requests} due"
