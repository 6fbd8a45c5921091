"""The identity-events queue: revoke or delete by user key, idempotent, invalid -> dead-letter."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import IdentityEvents
from emulator.client import EmulatorClient
from shared.errors import UpstreamUnavailable
from shared.services import use_services
from tests.functions import function_raises
from tests.sms.support import Output, queue_message
from tests.token.issue import issue_token

Rows = Callable[[], list[dict[str, object]]]


def _deliver(body: Any, *, id: str = "event-1", dequeue_count: int = 1) -> Output:
    out = Output()
    IdentityEvents.main(queue_message(body, id=id, dequeue_count=dequeue_count), out)
    return out


def test_identity_event_revoke_old_token_refused_identity_kept(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str, mapped_rows: Rows
) -> None:
    before = issue_token(user_token)

    out = _deliver({"action": "revoke", "userKey": "sub:user-1"})

    assert out.value is None
    assert emulator.verify_token(before["token"])["reason"] == "revoked"
    assert [r["CommunicationUserId"] for r in mapped_rows()] == [before["communicationUserId"]]


def test_identity_event_delete_identity_and_rows_gone(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    mapped_rows: Rows, reverse_rows: Rows,
) -> None:
    before = issue_token(user_token)

    out = _deliver({"action": "delete", "userKey": "sub:user-1"})

    assert out.value is None
    assert emulator.verify_token(before["token"])["reason"] == "identity deleted"
    assert [i["state"] for i in emulator.identities()] == ["deleted"]
    assert mapped_rows() == [] and reverse_rows() == []


@pytest.mark.parametrize("action", ["revoke", "delete"])
def test_identity_event_redelivered_harmless(
    action: str, app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    issue_token(user_token)
    event = {"action": action, "userKey": "sub:user-1"}

    first = _deliver(event)
    again = _deliver(event, dequeue_count=2)

    assert first.value is None and again.value is None
    states = [i["state"] for i in emulator.identities()]
    assert states == (["deleted"] if action == "delete" else ["active"])


def test_identity_event_unknown_user_done_without_acs_call(
    app_env: dict[str, str], emulator: EmulatorClient
) -> None:
    out = _deliver({"action": "delete", "userKey": "oid:never-seen"})
    assert out.value is None
    assert emulator.counters()["identity.delete"] == 0


BAD_EVENTS: dict[str, tuple[bytes, list[str]]] = {
    # name: (raw message, JSON pointers named in the dead letter's errors)
    "not_json": (b'{"action": "delete", ', []),
    "not_utf8": (b'{"action": "\xff"}', []),
    "array": (b'["delete", "sub:user-1"]', []),
    "unknown_action": (b'{"action": "purge", "userKey": "sub:user-1"}', ["/action"]),
    "missing_action": (b'{"userKey": "sub:user-1"}', ["/action"]),
    "missing_user_key": (b'{"action": "delete"}', ["/userKey"]),
    "bad_user_key": (b'{"action": "delete", "userKey": "user-1"}', ["/userKey"]),
    "user_key_not_string": (b'{"action": "revoke", "userKey": 7}', ["/userKey"]),
    "unknown_field": (b'{"action": "delete", "userKey": "sub:user-1", "all": true}', ["/all"]),
    # One strict reader for every queue: which "action" would a duplicate mean?
    "duplicate_key": (b'{"action": "delete", "userKey": "sub:user-1", "action": "revoke"}', []),
    "lone_surrogate": (b'{"action": "delete", "userKey": "sub:\\ud800"}', []),
    "nan": (b'{"action": "delete", "userKey": "sub:user-1", "n": NaN}', []),
    "trailing_newline": (b'{"action": "delete", "userKey": "sub:user-1\\n"}', ["/userKey"]),
}


@pytest.mark.parametrize("case", sorted(BAD_EVENTS))
def test_identity_event_invalid_dead_lettered_nothing_changed(
    case: str, app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    before = issue_token(user_token)
    raw, pointers = BAD_EVENTS[case]

    out = _deliver(raw, id=f"bad-{case}")

    assert out.value is not None
    letter = json.loads(out.value)
    assert letter["reason"] and letter["messageId"] == f"bad-{case}"
    assert [e["pointer"] for e in letter["errors"]] == pointers
    assert "Traceback" not in out.value
    assert emulator.verify_token(before["token"]) == {"valid": True}
    assert emulator.counters()["identity.delete"] == emulator.counters()[
        "identity.revokeTokens"] == 0


def test_identity_event_acs_down_raises_for_host_retry_then_redelivery_deletes(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    monkeypatch: pytest.MonkeyPatch, mapped_rows: Rows,
) -> None:
    issue_token(user_token)
    monkeypatch.setenv("ACS_RETRY_SECONDS", "1")
    use_services(None)
    emulator.fault("identity.delete", 503, count=100)
    event = {"action": "delete", "userKey": "sub:user-1"}

    with function_raises(UpstreamUnavailable):
        _deliver(event)
    assert len(mapped_rows()) == 1

    emulator.clear_faults()
    assert _deliver(event, dequeue_count=2).value is None
    assert mapped_rows() == []
    assert [i["state"] for i in emulator.identities()] == ["deleted"]
