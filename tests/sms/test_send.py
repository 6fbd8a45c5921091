"""SendSms against the emulator and Azurite: results, batching, idempotency, partial failure."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from devhost.direct import json_body
from emulator.client import EmulatorClient
from shared.sms.client import SmsClient
from tests.sms.conftest import SendCall
from tests.sms.support import numbers, sent_to


def test_send_one_recipient_accepted_202(send: SendCall, emulator: EmulatorClient) -> None:
    response = send({"to": "+14255550100", "message": "Your code is 123456", "tag": "otp",
                     "enableDeliveryReport": True})

    assert response.status_code == 202
    (result,) = json_body(response)["results"]
    assert result["to"] == "+14255550100"
    assert result["successful"] is True and result["httpStatusCode"] == 202
    assert result["messageId"] and result["error"] is None
    (sent,) = emulator.sms()
    assert sent["to"] == "+14255550100" and sent["message"] == "Your code is 123456"
    assert sent["tag"] == "otp" and sent["enableDeliveryReport"] is True
    assert sent["messageId"] == result["messageId"]
    assert sent["repeatabilityRequestId"] and sent["repeatabilityFirstSent"].endswith(" GMT")


def test_send_formatted_duplicates_normalised_sent_once(send: SendCall,
                                                        emulator: EmulatorClient) -> None:
    response = send({"to": ["+1 (425) 555-0100", "+14255550100", "+1.425.555.0101"],
                     "message": "hello"})

    assert response.status_code == 202
    assert [r["to"] for r in json_body(response)["results"]] == ["+14255550100", "+14255550101"]
    assert sent_to(emulator.sms()) == ["+14255550100", "+14255550101"]


def test_send_250_recipients_three_acs_calls(send: SendCall, emulator: EmulatorClient) -> None:
    response = send({"to": numbers(250), "message": "bulk"}, key="bulk-1")

    assert response.status_code == 202
    assert len(json_body(response)["results"]) == 250
    assert emulator.counters()["sms.send"] == 3
    assert sent_to(emulator.sms()) == sorted(numbers(250))


def test_send_valid_and_invalid_numbers_per_recipient_results_207(
    send: SendCall, emulator: EmulatorClient
) -> None:
    # +1425555012 is E.164-shaped but one digit short; +15555555555 is not an assigned range.
    response = send({"to": ["+14255550100", "+1425555012", "+15555555555", "+442071838750"],
                     "message": "mixed"})

    assert response.status_code == 207
    results = {r["to"]: r for r in json_body(response)["results"]}
    assert results["+14255550100"]["successful"] is True
    assert results["+442071838750"]["successful"] is True
    for bad in ("+1425555012", "+15555555555"):
        assert results[bad]["successful"] is False
        assert results[bad]["httpStatusCode"] == 400 and results[bad]["messageId"] is None
        assert results[bad]["error"]
    assert sent_to(emulator.sms()) == ["+14255550100", "+442071838750"]


def test_send_opted_out_recipient_reported_not_sent(
    send: SendCall, emulator: EmulatorClient, opt_out: Callable[[list[str]], None]
) -> None:
    opt_out(["+14255550101"])

    response = send({"to": numbers(3, start=100), "message": "promo"}, key="promo-1")

    assert response.status_code == 207
    results = {r["to"]: r for r in json_body(response)["results"]}
    assert results["+14255550101"]["successful"] is False
    assert results["+14255550101"]["httpStatusCode"] == 403
    assert sent_to(emulator.sms()) == ["+14255550100", "+14255550102"]
    # Opted out is final: a replay reports it again and sends nothing more.
    assert json_body(send({"to": numbers(3, start=100), "message": "promo"}, key="promo-1")) \
        == json_body(response)
    assert emulator.counters()["sms.send"] == 1


def test_send_same_key_replayed_same_response_one_send(send: SendCall,
                                                       emulator: EmulatorClient) -> None:
    body = {"to": numbers(2), "message": "once"}
    first = send(body, key="order-42")
    again = send(body, key="order-42")

    assert first.status_code == again.status_code == 202
    assert json_body(first) == json_body(again)
    assert emulator.counters()["sms.send"] == 1
    assert len(emulator.sms()) == 2


def test_send_same_key_different_body_refused_422(send: SendCall,
                                                  emulator: EmulatorClient) -> None:
    assert send({"to": numbers(1), "message": "first"}, key="k-1").status_code == 202

    response = send({"to": numbers(1), "message": "second"}, key="k-1")

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert len(emulator.sms()) == 1


def test_send_same_key_other_caller_independent(send: SendCall, emulator: EmulatorClient) -> None:
    other = emulator.mint("backend-other", roles=["Sms.Send"])
    body = {"to": numbers(1), "message": "hi"}

    assert send(body, key="shared-key").status_code == 202
    assert send(body, key="shared-key", token=other).status_code == 202

    assert emulator.counters()["sms.send"] == 2


def test_send_without_key_each_request_sent(send: SendCall, emulator: EmulatorClient) -> None:
    body = {"to": numbers(1), "message": "no key"}

    assert send(body).status_code == 202
    assert send(body).status_code == 202

    assert len(emulator.sms()) == 2


def test_send_concurrent_duplicate_conflict_409(send: SendCall, emulator: EmulatorClient,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.fault("sms.send", 200, count=1, latencyMs=1500)  # the first send is slow, not failed
    body = {"to": numbers(2), "message": "slow"}
    sending = threading.Event()
    real_send = SmsClient.send

    def signalling_send(self: SmsClient, *args: Any, **kwargs: Any) -> Any:
        sending.set()  # the record is claimed; the call to ACS starts now
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(SmsClient, "send", signalling_send)
    first: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: first.update(response=send(body, key="dup")))
    worker.start()
    assert sending.wait(10)

    second = send(body, key="dup")
    worker.join(10)

    assert second.status_code == 409
    assert int(second.headers["Retry-After"]) >= 1
    assert first["response"].status_code == 202
    assert len(emulator.sms()) == 2
    assert send(body, key="dup").status_code == 202  # once done, a duplicate is a replay
    assert len(emulator.sms()) == 2


def test_send_partial_failure_retry_resends_only_unsent(
    send: SendCall, emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch,
    one_call_at_a_time: None,
) -> None:
    """ACS throttles after the first of three calls; the retry sends only the other 150.

    The fault is armed by wrapping the real send (no outcome is faked): once the first call
    returns, ACS answers the next one 429 with a Retry-After beyond the client's time bound,
    so it is not retried in-process.
    """
    real_send = SmsClient.send
    calls: list[int] = []

    def send_then_break_acs(self: SmsClient, *args: Any, **kwargs: Any) -> Any:
        result = real_send(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            emulator.fault("sms.send", 429, count=1, retryAfter=60)
        return result

    monkeypatch.setattr(SmsClient, "send", send_then_break_acs)
    body = {"to": numbers(250), "message": "partial"}

    failed = send(body, key="partial-1")

    assert failed.status_code == 503 and failed.headers["Retry-After"] == "60"
    assert len(emulator.sms()) == 100
    calls_before = emulator.counters()["sms.send"]

    retried = send(body, key="partial-1")

    assert retried.status_code == 202
    assert emulator.counters()["sms.send"] - calls_before == 2
    assert sent_to(emulator.sms()) == sorted(numbers(250))
    results = json_body(retried)["results"]
    assert [r["to"] for r in results] == numbers(250) and all(r["successful"] for r in results)


def test_send_concurrent_calls_one_throttled_others_kept_retry_sends_that_page(
    send: SendCall, emulator: EmulatorClient
) -> None:
    """All four calls in flight (SMS_SEND_CONCURRENCY defaults to 5); ACS throttles one past
    the retry budget. The calls that went through are recorded; the retry sends only the page
    that was refused: no recipient twice, none lost."""
    emulator.fault("sms.send", 429, count=1, retryAfter=60)
    body = {"to": numbers(350), "message": "concurrent"}  # pages of 100, 100, 100, 50

    failed = send(body, key="conc-1")

    assert failed.status_code == 503 and failed.headers["Retry-After"] == "60"
    refused = 350 - len(emulator.sms())
    assert refused in (50, 100)
    calls_before = emulator.counters()["sms.send"]

    retried = send(body, key="conc-1")

    assert retried.status_code == 202
    assert emulator.counters()["sms.send"] - calls_before == 1
    assert sent_to(emulator.sms()) == sorted(numbers(350))


def test_send_replay_same_outcome_in_order_without_parsing_numbers(
    send: SendCall, emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"to": [numbers(1)[0], "+1 425 000 0000", *numbers(150, start=1), "+14250000001"],
            "message": "replay"}
    first = send(body, key="replay-1")
    assert first.status_code == 207  # two of them are not valid numbers

    def no_parsing(*args: Any) -> Any:
        raise AssertionError("a replay parsed a phone number")

    monkeypatch.setattr("shared.sms.request.parse_number", no_parsing)
    again = send(body, key="replay-1")

    assert again.status_code == 207
    assert json_body(again) == json_body(first)
    assert len(emulator.sms()) == 151


def test_send_many_unparseable_numbers_207_and_replay_without_positions(
    send: SendCall, emulator: EmulatorClient, app_env: dict[str, str]
) -> None:
    """Where the invalid numbers stand is too long for one Table property here (1,000 numbers
    of the documented shape that parse to nothing): the record leaves it out, and a replay
    resolves the request again instead of failing."""
    body = {"to": [f"+999 000 000 000 000 000 {i:04d}" for i in range(1000)],
            "message": "never sent"}

    first = send(body, key="many-invalid")
    again = send(body, key="many-invalid")

    assert first.status_code == again.status_code == 207
    assert json_body(again) == json_body(first)
    assert len(json_body(first)["results"]) == 1000
    assert emulator.counters()["sms.send"] == 0
