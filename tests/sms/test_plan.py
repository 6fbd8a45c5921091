"""Who a pass sends to, and under which attempt: a pure function of the recorded results."""

from __future__ import annotations

from shared.sms.records import RecipientResult
from shared.sms.service import due


def test_due_nothing_recorded_everyone_attempt_zero() -> None:
    assert due(["+1", "+2"], {}) == [("+1", 0), ("+2", 0)]


def test_due_successes_and_final_failures_never_again() -> None:
    recorded = {
        "+1": RecipientResult("+1", True, 202, message_id="m"),
        "+2": RecipientResult("+2", False, 403, error="opted out"),
        "+3": RecipientResult("+3", False, 400, error="invalid"),
        "+4": RecipientResult("+4", False, 412, error="stale"),
    }

    assert due(["+1", "+2", "+3", "+4"], recorded) == []


def test_due_retryable_failures_next_attempt() -> None:
    recorded = {
        "+1": RecipientResult("+1", False, 429, attempt=0),
        "+2": RecipientResult("+2", False, 503, attempt=2),
    }

    assert due(["+1", "+2", "+3"], recorded) == [("+1", 1), ("+2", 3), ("+3", 0)]
