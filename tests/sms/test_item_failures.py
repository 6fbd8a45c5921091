"""Recipients that ACS fails inside a 202 (the emulator's recipient faults): a retryable one
(503, 429) is resent by the retry alone, as a new attempt; successes and final failures never.

Between tries the emulator is reset: it forgets its repeatability cache (and any fault), so a
success the service sent again would show up in the outbox a second time instead of being
dropped as a repeat.
"""

from __future__ import annotations

from typing import Any

import pytest

from devhost.direct import json_body
from emulator.client import EmulatorClient
from shared.errors import UpstreamUnavailable
from shared.sms.queue import QUEUE_SCOPE
from shared.sms.records import INVALID_NUMBER, Claim
from shared.sms.request import caller_scope
from shared.sms.store import TableIdempotencyStore
from tests.functions import function_raises
from tests.sms.conftest import DeliverCall, SendCall
from tests.sms.support import numbers, sent_to

RETRYABLE = [(503, "ServiceUnavailable"), (429, "TooManyRequests")]
# Valid to phonenumbers' parse, but not an assigned range: the service never sends it.
INVALID = "+15555555555"


def _request_id(scope: str, key: str, number: str, attempt: int) -> str:
    """The repeatabilityRequestId the service derives for one attempt of one recipient."""
    claim = Claim(TableIdempotencyStore.partition(scope, key), "", "", [])
    return claim.request_id(number, attempt)


def _http_scope(app_env: dict[str, str]) -> str:
    return caller_scope(f"{app_env['AUTH_ISSUER']}\nsub:backend-sms")  # sender_token's caller


def _by_number(response: Any) -> dict[str, dict[str, Any]]:
    return {r["to"]: r for r in json_body(response)["results"]}


@pytest.mark.parametrize(("status", "message"), RETRYABLE, ids=["503", "429"])
def test_sendsms_item_retryable_207_retry_sends_only_failed_202(
    send: SendCall, emulator: EmulatorClient, status: int, message: str
) -> None:
    to = numbers(5)
    failed = [to[1], to[3]]
    for number in failed:
        emulator.fault("sms.send.recipient", status, to=number)
    body = {"to": to, "message": "item faults"}

    first = send(body, key="items-1")

    assert first.status_code == 207
    results = json_body(first)["results"]
    assert [r["to"] for r in results] == to
    for result in results:
        if result["to"] in failed:
            assert result == {"to": result["to"], "messageId": None, "successful": False,
                              "httpStatusCode": status, "error": message}
        else:
            assert result["successful"] is True and result["httpStatusCode"] == 202
            assert result["messageId"] and result["error"] is None
    sent_first = emulator.sms()
    assert sent_to(sent_first) == sorted(set(to) - set(failed))
    emulator.reset()

    retried = send(body, key="items-1")

    # The record was released with its results, so the retry resumes it (not a replay) and,
    # once every recipient is accepted, answers 202 for the whole request.
    assert retried.status_code == 202
    assert emulator.counters()["sms.send"] == 1
    sent_retry = emulator.sms()
    assert sent_to(sent_retry) == sorted(failed)
    assert sorted(sent_to(sent_first) + sent_to(sent_retry)) == sorted(to)
    final = _by_number(retried)
    assert list(final) == to
    assert all(r["successful"] and r["httpStatusCode"] == 202 and r["error"] is None
               for r in final.values())
    ids = {e["to"]: e["messageId"] for e in sent_first + sent_retry}
    assert {n: r["messageId"] for n, r in final.items()} == ids
    # Now completed: one more retry is a replay of the same answer, with no ACS call.
    replay = send(body, key="items-1")
    assert replay.status_code == 202 and json_body(replay) == json_body(retried)
    assert emulator.counters()["sms.send"] == 1 and len(emulator.sms()) == 2


def test_sendsms_item_fails_twice_each_retry_next_attempt_sent_once(
    send: SendCall, emulator: EmulatorClient, app_env: dict[str, str]
) -> None:
    to = numbers(3)
    emulator.fault("sms.send.recipient", 503, count=2, to=to[2])
    body = {"to": to, "message": "twice"}

    assert send(body, key="twice-1").status_code == 207
    assert sent_to(emulator.sms()) == to[:2]
    assert send(body, key="twice-1").status_code == 207
    assert sent_to(emulator.sms()) == to[:2]
    emulator.reset()
    assert send(body, key="twice-1").status_code == 202

    (entry,) = emulator.sms()
    assert entry["to"] == to[2]
    assert entry["repeatabilityRequestId"] == _request_id(_http_scope(app_env), "twice-1",
                                                          to[2], 2)


def test_sendsms_item_503_and_invalid_numbers_retry_resends_503_only(
    send: SendCall, emulator: EmulatorClient
) -> None:
    """Three failures in one request: a 503 from ACS (retryable), a number the service finds
    invalid (never sent) and a recipient ACS refuses 400 (final). The retry sends only the
    503 one; the other two keep failing, so the answer stays 207."""
    valid = numbers(4, start=10)
    transient, refused = valid[1], valid[2]
    to = [valid[0], transient, INVALID, refused, valid[3]]
    emulator.fault("sms.send.recipient", 503, to=transient)
    emulator.fault("sms.send.recipient", 400, to=refused)
    body = {"to": to, "message": "mixed"}

    first = send(body, key="mixed-1")

    assert first.status_code == 207
    results = _by_number(first)
    assert list(results) == to
    assert (results[transient]["httpStatusCode"], results[transient]["error"]) \
        == (503, "ServiceUnavailable")
    assert (results[INVALID]["httpStatusCode"], results[INVALID]["error"]) \
        == (400, INVALID_NUMBER)
    assert (results[refused]["httpStatusCode"], results[refused]["error"]) \
        == (400, "BadRequest")
    sent_first = emulator.sms()
    assert sent_to(sent_first) == sorted([valid[0], valid[3]])
    emulator.reset()

    retried = send(body, key="mixed-1")

    assert retried.status_code == 207
    assert sent_to(emulator.sms()) == [transient]
    final = _by_number(retried)
    assert list(final) == to
    assert [n for n, r in final.items() if r["successful"]] == [valid[0], transient, valid[3]]
    assert final[INVALID] == results[INVALID] and final[refused] == results[refused]
    # Nothing retryable is left, so the record is completed: the next retry replays it.
    again = send(body, key="mixed-1")
    assert again.status_code == 207 and json_body(again) == json_body(retried)
    assert emulator.counters()["sms.send"] == 1 and len(emulator.sms()) == 1


@pytest.mark.parametrize(("status", "message"), RETRYABLE, ids=["503", "429"])
def test_outbox_item_retryable_raises_redelivery_sends_only_failed(
    deliver: DeliverCall, emulator: EmulatorClient, status: int, message: str
) -> None:
    to = numbers(3)
    emulator.fault("sms.send.recipient", status, to=to[1])
    body = {"to": to, "message": "queued"}

    with function_raises(UpstreamUnavailable, match="1 recipient"):
        deliver(body, id="msg-items", dequeue_count=1)
    sent_first = emulator.sms()
    assert sent_to(sent_first) == sorted([to[0], to[2]])
    emulator.reset()

    assert deliver(body, id="msg-items", dequeue_count=2).value is None

    (entry,) = emulator.sms()
    assert entry["to"] == to[1]
    # Attempt 1: ACS said attempt 0 was not sent, so it goes out under a fresh id.
    assert entry["repeatabilityRequestId"] == _request_id(QUEUE_SCOPE, "msg-items", to[1], 1)
    assert sorted([*sent_to(sent_first), entry["to"]]) == sorted(to)
    # A third delivery (the host's duplicate) finds the record completed: nothing is sent.
    assert deliver(body, id="msg-items", dequeue_count=3).value is None
    assert emulator.counters()["sms.send"] == 1 and len(emulator.sms()) == 1
