"""A call that fails as a whole leaves its recipients retryable as a new attempt, so a retry
long after (past ACS's 5-minute repeat window) still sends each of them exactly once.

Waiting 5 minutes is replaced by moving the record's stored repeatabilityFirstSent values 6
minutes back: ACS (and the emulator) judge the window by that value alone.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from devhost.direct import json_body
from emulator.client import EmulatorClient
from shared.clients.tables import LazyTable, build_service_client
from shared.config.settings import Settings
from shared.errors import UpstreamUnavailable
from shared.services import get_services, use_services
from shared.sms.client import SmsClient
from shared.sms.queue import QUEUE_SCOPE
from shared.sms.records import rfc1123
from shared.sms.request import SmsRequest
from shared.sms.store import LEASE, TableIdempotencyStore, utc_now
from tests.functions import function_raises
from tests.sms.conftest import DeliverCall, SendCall
from tests.sms.support import numbers, sent_to

BODY = {"to": numbers(250), "message": "later"}


def _heads(app_env: dict[str, str]) -> Any:
    settings = Settings.from_env()
    service = build_service_client(settings.table_endpoint, get_services().credential)
    table = service.get_table_client(settings.idempotency_table_name)
    return table, list(table.query_entities("RowKey eq 'head'"))


def _six_minutes_later(app_env: dict[str, str]) -> None:
    """Every attempt of every record in this test's table was first sent 6 minutes ago."""
    table, heads = _heads(app_env)
    old = rfc1123(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6))
    for head in heads:
        attempts = len(json.loads(head["FirstSent"]))
        table.update_entity({"PartitionKey": head["PartitionKey"], "RowKey": "head",
                             "FirstSent": json.dumps([old] * attempts)})


def _outbox_when_settled(emulator: EmulatorClient) -> list[dict[str, Any]]:
    """The emulator's outbox once it stops growing (slow calls still finishing)."""
    deadline = time.monotonic() + 10
    seen = emulator.sms()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = emulator.sms()
        if len(now) == len(seen) and now:
            return now
        seen = now
    return seen


# Each arms a failure of the first request and returns the status SendSms answers it with.
Failure = Callable[[EmulatorClient, pytest.MonkeyPatch], int]


def _acs_unreachable(emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch) -> int:
    """The request never leaves: nothing listens on ACS_ENDPOINT."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("ACS_ENDPOINT", f"https://127.0.0.1:{port}")
    use_services(None)
    return 503


def _break_after_first_call(emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch) -> int:
    """The first of three calls goes through; then ACS answers 503 to everything."""
    real_send = SmsClient.send
    calls: list[int] = []

    def send_then_break(self: SmsClient, *args: Any, **kwargs: Any) -> Any:
        result = real_send(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            emulator.fault("sms.send", 503, count=50)
        return result

    monkeypatch.setattr(SmsClient, "send", send_then_break)
    return 503


def _fault(status: int, answer: int, **options: Any) -> Failure:
    def arm(emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch) -> int:
        emulator.fault("sms.send", status, **options)
        return answer

    return arm


FAILURES: dict[str, Failure] = {
    "503-persistent": _fault(503, 503, count=50),
    "403-refused": _fault(403, 502),
    "429-beyond-budget": _fault(429, 503, retryAfter=600),
    "connect-error": _acs_unreachable,
    "second-call-503": _break_after_first_call,
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_sendsms_call_failed_retried_after_window_each_sent_once(
    send: SendCall, emulator: EmulatorClient, app_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch, failure: str,
) -> None:
    monkeypatch.setenv("ACS_RETRY_SECONDS", "1")
    monkeypatch.setenv("SMS_SEND_CONCURRENCY", "1")  # "second-call-503" breaks after call one
    use_services(None)
    with monkeypatch.context() as patch:
        status = FAILURES[failure](emulator, patch)
        failed = send(BODY, key="later-1")
    assert failed.status_code == status
    sent_before = emulator.sms()
    emulator.reset()  # ACS is back: no faults left
    use_services(None)
    _six_minutes_later(app_env)

    retried = send(BODY, key="later-1")

    assert retried.status_code == 202, json_body(retried)
    results = json_body(retried)["results"]
    assert [r["to"] for r in results] == numbers(250)
    assert all(r["successful"] and r["httpStatusCode"] == 202 for r in results)
    assert sorted(sent_to(sent_before) + sent_to(emulator.sms())) == sorted(numbers(250))


def test_outbox_call_failed_redelivered_after_window_each_sent_once(
    deliver: DeliverCall, emulator: EmulatorClient, app_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACS_RETRY_SECONDS", "1")
    use_services(None)
    emulator.fault("sms.send", 503, count=50)
    with function_raises(UpstreamUnavailable):
        deliver(BODY, dequeue_count=1)
    emulator.reset()
    _six_minutes_later(app_env)

    assert deliver(BODY, dequeue_count=2).value is None

    assert sent_to(emulator.sms()) == sorted(numbers(250))


def test_sendsms_lost_answer_first_page_same_ids_later_pages_next_attempt(
    send: SendCall, emulator: EmulatorClient, app_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch, one_call_at_a_time: None,
) -> None:
    """No answer to the first call (a read timeout; ACS did send it): its recipients keep
    their repeatability ids, so the retry is dropped as a repeat; the pages never tried go
    out as the next attempt."""
    monkeypatch.setattr("shared.clients.acs.READ_TIMEOUT", 1)
    emulator.fault("sms.send", 200, count=3, latencyMs=2000)  # every try of the first call

    assert send(BODY, key="lost-1").status_code == 503
    first_page = _outbox_when_settled(emulator)  # the emulator finishes the slow calls
    assert sorted(e["to"] for e in first_page) == sorted(numbers(100))

    assert send(BODY, key="lost-1").status_code == 202

    outbox = emulator.sms()
    assert sorted(sent_to(outbox)) == sorted(numbers(250))
    _, (head,) = _heads(app_env)
    assert len(json.loads(head["FirstSent"])) == 2  # attempt 0, then 1 for the later pages
    by_number = {e["to"]: e["repeatabilityRequestId"] for e in outbox}
    assert {by_number[n] for n in numbers(100)} == {e["repeatabilityRequestId"]
                                                   for e in first_page}


def test_outbox_call_failed_after_dead_try_keeps_ids(
    deliver: DeliverCall, emulator: EmulatorClient, app_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A try that died holding the record may have sent under attempt 0; a later failed call
    must not move those recipients to a new attempt (that could send them twice)."""
    settings = Settings.from_env()
    service = build_service_client(settings.table_endpoint, get_services().credential)
    # A worker that held the record a lease ago and died: its clock is that far behind.
    dead = TableIdempotencyStore(LazyTable(service, settings.idempotency_table_name),
                                 clock=lambda: utc_now() - LEASE - dt.timedelta(seconds=1))
    dead.claim(QUEUE_SCOPE, "msg-1", SmsRequest.parse(BODY, settings).fingerprint())
    monkeypatch.setenv("ACS_RETRY_SECONDS", "1")
    use_services(None)
    emulator.fault("sms.send", 503, count=50)

    with function_raises(UpstreamUnavailable):
        deliver(BODY)

    table, _ = _heads(app_env)
    assert [r["RowKey"] for r in table.query_entities("RowKey ne 'head'")] == []
