"""Text that is not valid Unicode and JSON HTTP refuses is refused the same way everywhere:
400 over HTTP (with or without an Idempotency-Key), dead-lettered on the queue, never sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.errors import ValidationError
from shared.settings import Settings
from shared.sms_request import SmsRequest, parse_idempotency_key
from shared.strict_json import parse_json
from tests.sms.conftest import DeliverCall, SendCall
from tests.sms.support import numbers
from tests.support import EmulatorClient, json_body

LONE = "\ud800"
# Raw JSON bodies: json.dumps escapes a lone surrogate as \ud800, valid JSON syntax.
BROKEN_TEXT = {
    "message": {"to": numbers(1), "message": f"hi {LONE}"},
    "message-low": {"to": numbers(1), "message": "\udc00 low"},
    "tag": {"to": numbers(1), "message": "hi", "tag": f"t{LONE}"},
    "to": {"to": [f"+1425555{LONE}"], "message": "hi"},
    "key-name": {"to": numbers(1), "message": "hi", LONE: 1},
}
NOT_STRICT = {
    "duplicate-key": b'{"to": ["+14255550000"], "message": "a", "message": "b"}',
    "nan": b'{"to": ["+14255550000"], "message": "a", "tag": NaN}',
    "infinity": b'{"to": ["+14255550000"], "message": "a", "x": -Infinity}',
    "bad-utf8": b'{"to": ["+14255550000"], "message": "\xed\xa0\x80"}',
}


@pytest.mark.parametrize("key", [None, "k-1"])
@pytest.mark.parametrize("case", sorted(BROKEN_TEXT))
def test_send_sms_invalid_unicode_400_never_sent(
    case: str, key: str | None, send: SendCall, emulator: EmulatorClient,
) -> None:
    response = send(BROKEN_TEXT[case], key=key)

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert json_body(response)["status"] == 400
    assert emulator.counters()["sms.send"] == 0 and emulator.sms() == []


@pytest.mark.parametrize("case", sorted(BROKEN_TEXT))
def test_outbox_invalid_unicode_dead_lettered_never_sent(
    case: str, deliver: DeliverCall, emulator: EmulatorClient,
) -> None:
    out = deliver(BROKEN_TEXT[case], id=f"broken-{case}", dequeue_count=1)

    assert out.value is not None
    assert json.loads(out.value)["messageId"] == f"broken-{case}"
    out.value.encode("utf-8")  # the dead letter itself is valid text
    assert emulator.counters()["sms.send"] == 0 and emulator.sms() == []


def test_outbox_invalid_unicode_idempotency_key_dead_lettered(
    deliver: DeliverCall, emulator: EmulatorClient,
) -> None:
    out = deliver({"to": numbers(1), "message": "hi", "idempotencyKey": f"k{LONE}"})
    assert out.value is not None
    assert emulator.counters()["sms.send"] == 0


@pytest.mark.parametrize("case", sorted(NOT_STRICT))
def test_send_sms_json_not_strict_400(case: str, send: SendCall,
                                      emulator: EmulatorClient) -> None:
    response = send(raw=NOT_STRICT[case], headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "JSON" in json_body(response)["detail"]
    assert emulator.counters()["sms.send"] == 0


@pytest.mark.parametrize("case", sorted(NOT_STRICT))
def test_outbox_json_not_strict_dead_lettered(case: str, deliver: DeliverCall,
                                              emulator: EmulatorClient) -> None:
    out = deliver(NOT_STRICT[case], id=f"loose-{case}")
    assert out.value is not None
    assert "JSON" in json.loads(out.value)["reason"]
    assert emulator.counters()["sms.send"] == 0


@pytest.mark.parametrize("raw", [
    b'{"a": "\\ud800"}', b'["\\udfff"]', b'{"\\ud800": 1}', b'{"a": {"b": ["x\\ud83d"]}}',
    b'{"a": 1, "a": 2}', b"NaN", b"[Infinity]", b'{"a": -Infinity}', b"\xff",
])
def test_strict_json_refuses_what_is_not_json_text(raw: bytes) -> None:
    with pytest.raises(ValueError):
        parse_json(raw)


def test_strict_json_accepts_valid_surrogate_pairs() -> None:
    assert parse_json(b'{"m": "\\ud83d\\ude00 ok"}') == {"m": "\U0001f600 ok"}


SETTINGS = Settings.from_env({
    "ACS_ENDPOINT": "https://c.communication.azure.com", "AUTH_ISSUER": "https://i",
    "AUTH_AUDIENCE": "a", "IDENTITY_TABLE_ENDPOINT": "https://a.table.x",
})


@pytest.mark.parametrize("to", ["+14255550100\n", "+14255550100\r\n", "\n+14255550100"])
def test_sms_request_number_with_newline_refused(to: str) -> None:
    with pytest.raises(ValidationError):
        SmsRequest.parse({"to": to, "message": "hi"}, SETTINGS)


@pytest.mark.parametrize("key", ["key\n", "key\r\n", f"key{LONE}"])
def test_idempotency_key_with_newline_or_surrogate_refused(key: str) -> None:
    with pytest.raises(ValidationError):
        parse_idempotency_key(key)


def test_sms_request_message_surrogate_refused_even_from_objects() -> None:
    body: dict[str, Any] = {"to": "+14255550100", "message": f"x{LONE}"}
    with pytest.raises(ValidationError) as raised:
        SmsRequest.parse(body, SETTINGS)
    assert {e.pointer for e in raised.value.errors} == {"/message"}


def test_strict_json_finds_surrogate_at_any_depth() -> None:
    with pytest.raises(ValueError):
        parse_json(b'[[[{"a": [["\\udc00"]]}]]]')


def test_send_sms_documented_shape_but_no_number_failed_result_not_sent(
    send: SendCall, emulator: EmulatorClient,
) -> None:
    response = send({"to": ["+14255550100", "+999 1234 5678", "+12"], "message": "hi"})

    assert response.status_code == 207
    results = {r["to"]: r for r in json_body(response)["results"]}
    assert results["+14255550100"]["successful"]
    for text in ("+999 1234 5678", "+12"):
        assert not results[text]["successful"] and results[text]["httpStatusCode"] == 400
    assert [entry["to"] for entry in emulator.sms()] == ["+14255550100"]
