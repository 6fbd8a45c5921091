"""Limits set together: host.json's queue retries and the SMS record lease; the recipient
cap and the body limit."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from shared.config.settings import SMS_MAX_RECIPIENTS_LIMIT
from shared.edge.http import MAX_BODY_BYTES
from shared.sms.request import MESSAGE_MAX, TAG_MAX
from shared.sms.store import LEASE

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


def test_recipient_cap_fits_body_limit_with_longest_message() -> None:
    """SMS_MAX_RECIPIENTS' ceiling and the 64 KiB body limit agree: the most recipients, each
    the longest E.164 number, beside the longest message and tag written with JSON's widest
    escapes, still make a body the edge accepts."""
    body = {
        "to": ["+" + "9" * 15] * SMS_MAX_RECIPIENTS_LIMIT,
        "message": "\x01" * MESSAGE_MAX,  # "\u0001": 6 bytes per character, the worst case
        "tag": "\x01" * TAG_MAX,
        "enableDeliveryReport": False,
    }
    size = len(json.dumps(body).encode())

    assert size <= MAX_BODY_BYTES
    assert size > MAX_BODY_BYTES * 0.75  # and the ceiling is not set needlessly low
