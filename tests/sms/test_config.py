"""host.json's queue retries and the SMS record lease are set together; this holds them so."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from shared.sms_store import LEASE

ACS_REPEAT_WINDOW = dt.timedelta(minutes=5)


def _timespan(text: str) -> dt.timedelta:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def test_host_queue_retries_outlast_sms_lease(repo_root: Path) -> None:
    """A lease left held (the holder crashed or could not release it) makes every delivery
    inside it fail with Conflict. The redeliveries, `visibilityTimeout` apart, must reach past
    the lease, with two to spare, before `maxDequeueCount` sends the message to poison; and the
    first one must still fit, with a whole invocation, in ACS's 5-minute repeat window."""
    host = json.loads((repo_root / "host.json").read_text())
    queues = host["extensions"]["queues"]
    visibility = _timespan(queues["visibilityTimeout"])
    function_timeout = _timespan(host["functionTimeout"])

    after_lease = [n for n in range(1, queues["maxDequeueCount"]) if n * visibility > LEASE]

    assert function_timeout < LEASE  # a live holder is never taken over
    assert len(after_lease) >= 2
    assert visibility + function_timeout < ACS_REPEAT_WINDOW
