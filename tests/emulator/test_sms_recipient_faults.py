"""Per-recipient faults (`sms.send.recipient`): an item fails inside a 202 with the injected
status, is not sent and not remembered for repeatability; whole-call faults are unchanged."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.communication.sms import SmsClient

from emulator.client import EmulatorClient
from tests.emulator.acs_http import AcsHttp, rfc1123

NUMBERS = [f"+1425555{i:04d}" for i in range(4)]


def _send(acs: AcsHttp, recipients: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"from": acs.settings["SMS_FROM"], "smsRecipients": recipients, "message": "Hi"}
    response = acs.call("POST", "/sms", body, api_version="2026-01-23")
    assert response.status_code == 202, response.text
    items: list[dict[str, Any]] = response.json()["value"]
    return items


def _plain(numbers: list[str]) -> list[dict[str, Any]]:
    return [{"to": n} for n in numbers]


def _pending(emulator: EmulatorClient) -> Any:
    return emulator.http.get(f"{emulator.admin}/faults", timeout=10).json()


@pytest.mark.parametrize(("status", "message"), [(503, "ServiceUnavailable"),
                                                 (429, "TooManyRequests"),
                                                 (500, "InternalServerError")])
def test_recipient_fault_next_n_items_fail_not_sent(
    acs: AcsHttp, emulator: EmulatorClient, status: int, message: str
) -> None:
    emulator.fault("sms.send.recipient", status, count=2)

    items = _send(acs, _plain(NUMBERS))

    assert items[:2] == [{"to": n, "httpStatusCode": status, "successful": False,
                          "errorMessage": message} for n in NUMBERS[:2]]
    assert all(i["successful"] and i["httpStatusCode"] == 202 and i["messageId"]
               for i in items[2:])
    assert [entry["to"] for entry in emulator.sms()] == NUMBERS[2:]
    counters = emulator.counters()
    assert counters["sms.send"] == 1 and counters["sms.send.recipient"] == 2
    assert _pending(emulator) == {}
    assert all(i["successful"] for i in _send(acs, _plain(NUMBERS[:2])))


def test_recipient_fault_count_spans_requests(acs: AcsHttp, emulator: EmulatorClient) -> None:
    emulator.fault("sms.send.recipient", 503, count=3)

    first = _send(acs, _plain(NUMBERS[:2]))
    second = _send(acs, _plain(NUMBERS[2:]))

    assert [i["successful"] for i in first + second] == [False, False, False, True]
    assert [entry["to"] for entry in emulator.sms()] == [NUMBERS[3]]


def test_recipient_fault_with_to_fails_only_that_number(acs: AcsHttp,
                                                        emulator: EmulatorClient) -> None:
    emulator.fault("sms.send.recipient", 503, count=2, to=NUMBERS[2])

    first = _send(acs, _plain(NUMBERS))
    second = _send(acs, _plain(NUMBERS[2:3]))
    third = _send(acs, _plain(NUMBERS[2:3]))

    assert [i["successful"] for i in first] == [True, True, False, True]
    assert first[2]["httpStatusCode"] == 503 and "messageId" not in first[2]
    assert second[0]["httpStatusCode"] == 503
    assert third[0]["successful"] is True
    assert sorted(entry["to"] for entry in emulator.sms()) == sorted(NUMBERS)
    assert emulator.counters()["sms.send.recipient"] == 2


def test_recipient_faults_queue_in_order_to_first_match(acs: AcsHttp,
                                                        emulator: EmulatorClient) -> None:
    emulator.fault("sms.send.recipient", 429, to=NUMBERS[3])
    emulator.fault("sms.send.recipient", 503)

    items = _send(acs, _plain(NUMBERS))

    # The first number does not match the `to` fault, so it takes the general one; the
    # fourth takes its own.
    assert [i["httpStatusCode"] for i in items] == [503, 202, 202, 429]


def test_recipient_fault_failed_repeatable_item_not_remembered(
    acs: AcsHttp, emulator: EmulatorClient
) -> None:
    """Only accepted items are remembered for repeatability: the same id and first-sent can
    be sent after an injected failure, once."""
    recipient = {"to": NUMBERS[0], "repeatabilityRequestId": str(uuid.uuid4()),
                 "repeatabilityFirstSent": rfc1123()}
    emulator.fault("sms.send.recipient", 503)

    [failed] = _send(acs, [recipient])
    [accepted] = _send(acs, [recipient])
    [repeated] = _send(acs, [recipient])

    assert failed == {"to": NUMBERS[0], "httpStatusCode": 503, "successful": False,
                      "errorMessage": "ServiceUnavailable"}
    assert accepted["successful"] and accepted["repeatabilityResult"] == "accepted"
    assert repeated == accepted
    assert len(emulator.sms()) == 1


def test_recipient_fault_skips_items_that_would_not_be_sent(
    acs: AcsHttp, emulator: EmulatorClient
) -> None:
    """An invalid number, a rejected repeat and a repeat of an accepted item are answered as
    usual and leave the fault for the next recipient that would be sent."""
    accepted = {"to": NUMBERS[0], "repeatabilityRequestId": str(uuid.uuid4()),
                "repeatabilityFirstSent": rfc1123()}
    [first] = _send(acs, [accepted])
    emulator.fault("sms.send.recipient", 503)

    items = _send(acs, [{"to": "+123"}, accepted,
                        {"to": NUMBERS[1], "repeatabilityRequestId": str(uuid.uuid4())},
                        {"to": NUMBERS[2]}])

    assert [i["httpStatusCode"] for i in items] == [400, 202, 400, 503]
    assert items[1] == first
    assert [entry["to"] for entry in emulator.sms()] == [NUMBERS[0]]


def test_recipient_fault_after_whole_call_fault_and_refused_request(
    acs: AcsHttp, emulator: EmulatorClient
) -> None:
    emulator.fault("sms.send", 503)
    emulator.fault("sms.send.recipient", 503)
    body = {"from": acs.settings["SMS_FROM"], "smsRecipients": _plain(NUMBERS[:1]),
            "message": "Hi"}

    assert acs.call("POST", "/sms", body, api_version="2026-01-23").status_code == 503
    assert acs.call("POST", "/sms", {**body, "smsRecipients": []},
                    api_version="2026-01-23").status_code == 400
    assert acs.call("POST", "/sms", body, api_version="2026-01-23", auth="none"
                    ).status_code == 401
    assert _pending(emulator) == {"sms.send.recipient": [{"status": 503, "remaining": 1,
                                                          "to": None}]}
    [item] = _send(acs, _plain(NUMBERS[:1]))

    assert item["httpStatusCode"] == 503
    assert emulator.sms() == []
    assert emulator.counters()["sms.send"] == 4


def test_recipient_fault_seen_by_official_sdk(emulator: EmulatorClient) -> None:
    emulator.fault("sms.send.recipient", 429, to=NUMBERS[1])
    client = SmsClient.from_connection_string(emulator.settings["EMULATOR_CONNECTION_STRING"])

    results = client.send(from_=emulator.settings["SMS_FROM"], to=NUMBERS[:2], message="x")

    assert [r.successful for r in results] == [True, False]
    assert results[1].http_status_code == 429 and results[1].message_id is None
    assert results[1].error_message == "TooManyRequests"
    assert emulator.counters()["sms.send"] == 1


def test_recipient_fault_listed_and_cleared_by_reset(emulator: EmulatorClient) -> None:
    emulator.fault("sms.send.recipient", 503, count=2, to=NUMBERS[0])

    assert _pending(emulator) == {"sms.send.recipient": [{"status": 503, "remaining": 2,
                                                          "to": NUMBERS[0]}]}
    emulator.reset()
    assert _pending(emulator) == {}


@pytest.mark.parametrize("body", [
    {"operation": "sms.send.recipient", "status": 202},
    {"operation": "sms.send.recipient", "status": 600},
    {"operation": "sms.send.recipient", "status": 503, "retryAfter": 1},
    {"operation": "sms.send.recipient", "status": 503, "latencyMs": 10},
    {"operation": "sms.send.recipient", "status": 503, "to": 14255550000},
    {"operation": "sms.send.recipient", "status": 503, "to": ""},
    {"operation": "sms.send.recipient", "status": 503, "count": 0},
    {"operation": "sms.send", "status": 503, "to": NUMBERS[0]},
], ids=["status-2xx", "status-600", "retry-after", "latency", "to-number", "to-empty",
        "count-0", "to-on-whole-call"])
def test_recipient_fault_invalid_admin_body_400(emulator: EmulatorClient,
                                                body: dict[str, Any]) -> None:
    response = emulator.http.post(f"{emulator.admin}/faults", json=body, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ValidationError"
    assert _pending(emulator) == {}
