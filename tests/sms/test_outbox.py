"""SmsOutbox against the emulator and Azurite: redelivery, crashes, dead letters, retries."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from emulator.client import EmulatorClient
from shared.clients.tables import LazyTable, build_service_client
from shared.config.settings import Settings
from shared.errors import Conflict, UpstreamUnavailable
from shared.services import get_services, use_services
from shared.sms.queue import QUEUE_SCOPE
from shared.sms.records import RecipientResult
from shared.sms.request import SmsRequest
from shared.sms.store import LEASE, RECORD_TTL, Clock, TableIdempotencyStore, utc_now
from tests.functions import function_raises
from tests.sms.conftest import DeliverCall
from tests.sms.support import numbers, sent_to

BODY = {"to": numbers(3), "message": "Your parcel is on its way"}


def _ago(delta: dt.timedelta) -> Clock:
    """A clock running `delta` behind: a worker that acted that long ago (no sleeping)."""
    return lambda: utc_now() - delta


def _store(app_env: dict[str, str], **options: Any) -> TableIdempotencyStore:
    """A second handle on the function app's idempotency table, as another worker has."""
    settings = Settings.from_env()
    service = build_service_client(settings.table_endpoint, get_services().credential)
    return TableIdempotencyStore(LazyTable(service, settings.idempotency_table_name), **options)


def test_outbox_message_sent_once_per_recipient(deliver: DeliverCall,
                                                emulator: EmulatorClient) -> None:
    out = deliver(BODY)

    assert out.value is None
    assert sent_to(emulator.sms()) == sorted(BODY["to"])


class WorkerKilled(BaseException):
    """Like a killed process: not an Exception, so no cleanup in the service runs."""


@pytest.mark.parametrize("crash", [RuntimeError, WorkerKilled], ids=["error", "killed"])
def test_outbox_delivered_three_times_with_crash_one_sms_per_recipient(
    deliver: DeliverCall, emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch,
    app_env: dict[str, str], crash: type[BaseException],
) -> None:
    """The only mock in these tests: the record-completion step raises once, after ACS
    accepted the messages and before the record says so."""
    real = TableIdempotencyStore.complete
    crashes: list[str] = []

    def crash_once(self: TableIdempotencyStore, *args: Any, **kwargs: Any) -> None:
        if not crashes:
            crashes.append("complete")
            raise crash("simulated crash")
        real(self, *args, **kwargs)

    monkeypatch.setattr(TableIdempotencyStore, "complete", crash_once)

    with function_raises(crash, match="simulated crash"):
        deliver(BODY, dequeue_count=1)
    assert len(emulator.sms()) == 3  # ACS accepted before the crash
    if crash is WorkerKilled:
        _end_lease(app_env, "msg-1")  # the dead worker's lease runs out (130 s) at once
    assert deliver(BODY, dequeue_count=2).value is None
    assert deliver(BODY, dequeue_count=3).value is None

    assert crashes == ["complete"]
    assert sent_to(emulator.sms()) == sorted(BODY["to"])
    # An error releases the record with the results it knows, so the second delivery only
    # completes it. A killed worker stored nothing: the second delivery repeats the call under
    # the same repeatability ids and ACS drops the repeats. The third delivery is a replay.
    assert emulator.counters()["sms.send"] == (1 if crash is RuntimeError else 2)


def _end_lease(app_env: dict[str, str], key: str) -> None:
    settings = Settings.from_env()
    service = build_service_client(settings.table_endpoint, get_services().credential)
    service.get_table_client(settings.idempotency_table_name).update_entity({
        "PartitionKey": TableIdempotencyStore.partition(QUEUE_SCOPE, key), "RowKey": "head",
        "LeaseUntil": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
    })


def test_outbox_idempotency_key_spans_message_ids(deliver: DeliverCall,
                                                  emulator: EmulatorClient) -> None:
    body = {**BODY, "idempotencyKey": "order-7-shipped"}

    deliver(body, id="first")
    deliver(body, id="second")

    assert len(emulator.sms()) == 3
    assert emulator.counters()["sms.send"] == 1


def test_outbox_other_message_ids_without_key_both_sent(deliver: DeliverCall,
                                                        emulator: EmulatorClient) -> None:
    deliver(BODY, id="a")
    deliver(BODY, id="b")

    assert len(emulator.sms()) == 6


def test_outbox_250_recipients_three_acs_calls(deliver: DeliverCall,
                                               emulator: EmulatorClient) -> None:
    deliver({"to": numbers(250), "message": "bulk"})

    assert emulator.counters()["sms.send"] == 3
    assert sent_to(emulator.sms()) == sorted(numbers(250))


def test_outbox_acs_unavailable_raises_then_redelivery_sends(
    deliver: DeliverCall, emulator: EmulatorClient
) -> None:
    emulator.fault("sms.send", 429, count=1, retryAfter=120)

    with function_raises(UpstreamUnavailable):
        deliver(BODY, dequeue_count=1)
    assert emulator.sms() == []

    assert deliver(BODY, dequeue_count=2).value is None
    assert sent_to(emulator.sms()) == sorted(BODY["to"])


def test_outbox_lease_held_by_other_worker_raises(
    deliver: DeliverCall, emulator: EmulatorClient, app_env: dict[str, str]
) -> None:
    other = _store(app_env)
    request = SmsRequest.parse(BODY, Settings.from_env())
    other.claim(QUEUE_SCOPE, "msg-1", request.fingerprint())

    with function_raises(Conflict):
        deliver(BODY)

    assert emulator.counters()["sms.send"] == 0


def test_outbox_expired_lease_taken_over_sent_once(
    deliver: DeliverCall, emulator: EmulatorClient, app_env: dict[str, str]
) -> None:
    # A worker that claimed the message and died without a word: its lease runs out.
    dead = _store(app_env, clock=_ago(LEASE + dt.timedelta(seconds=1)))
    dead.claim(QUEUE_SCOPE, "msg-1", SmsRequest.parse(BODY, Settings.from_env()).fingerprint())

    assert deliver(BODY).value is None

    assert sent_to(emulator.sms()) == sorted(BODY["to"])


def test_outbox_stale_holder_write_after_takeover_conflict(
    deliver: DeliverCall, emulator: EmulatorClient, app_env: dict[str, str]
) -> None:
    stale = _store(app_env, clock=_ago(LEASE + dt.timedelta(seconds=1)))
    claim = stale.claim(QUEUE_SCOPE, "msg-1",
                        SmsRequest.parse(BODY, Settings.from_env()).fingerprint())
    deliver(BODY)  # takes the record over and completes it

    with pytest.raises(Conflict):
        stale.complete(claim)


def _too_many() -> dict[str, Any]:
    return {"to": numbers(1001), "message": "x"}


BAD_MESSAGES: list[tuple[str, Any]] = [
    ("not-json", b"send it to +14255550100"),
    ("not-utf8", b"\xff\xfe{\x00"),
    ("json-array", [BODY]),
    ("json-string", "hello"),
    ("json-null", None),
    ("no-to", {"message": "x"}),
    ("empty-to", {"to": [], "message": "x"}),
    ("to-number", {"to": 14255550100, "message": "x"}),
    ("to-not-e164", {"to": ["4255550100"], "message": "x"}),
    ("to-letters", {"to": ["+1425CALLNOW"], "message": "x"}),
    ("to-object", {"to": [{"to": "+14255550100"}], "message": "x"}),
    ("too-many", _too_many()),
    ("no-message", {"to": numbers(1)}),
    ("empty-message", {"to": numbers(1), "message": ""}),
    ("blank-message", {"to": numbers(1), "message": "   "}),
    ("long-message", {"to": numbers(1), "message": "x" * 2049}),
    ("message-list", {"to": numbers(1), "message": ["x"]}),
    ("tag-number", {"to": numbers(1), "message": "x", "tag": 5}),
    ("tag-long", {"to": numbers(1), "message": "x", "tag": "t" * 129}),
    ("report-string", {"to": numbers(1), "message": "x", "enableDeliveryReport": "yes"}),
    ("unknown-field", {"to": numbers(1), "message": "x", "from": "+18005550100"}),
    ("key-number", {"to": numbers(1), "message": "x", "idempotencyKey": 7}),
    ("key-control", {"to": numbers(1), "message": "x", "idempotencyKey": "a\nb"}),
    ("key-long", {"to": numbers(1), "message": "x", "idempotencyKey": "k" * 201}),
]


@pytest.mark.parametrize(("case", "body"), BAD_MESSAGES, ids=[c for c, _ in BAD_MESSAGES])
def test_outbox_malformed_message_dead_lettered_not_sent(
    deliver: DeliverCall, emulator: EmulatorClient, case: str, body: Any
) -> None:
    out = deliver(body, id=f"bad-{case}", dequeue_count=2)

    assert out.value is not None
    letter = json.loads(out.value)
    assert letter["messageId"] == f"bad-{case}" and letter["dequeueCount"] == 2
    assert letter["reason"] and "Traceback" not in out.value
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if letter["bodyEncoding"] == "utf-8":
        assert letter["body"].encode() == raw
    else:
        assert letter["body"] == "//57AA=="
    assert emulator.counters()["sms.send"] == 0 and emulator.sms() == []


def test_outbox_malformed_message_field_errors_pointed(deliver: DeliverCall) -> None:
    out = deliver({"to": ["+14255550100", "nope"], "message": "", "colour": "red"})

    assert out.value is not None
    pointers = {e["pointer"] for e in json.loads(out.value)["errors"]}
    assert pointers == {"/to/1", "/message", "/colour"}


def test_outbox_key_reused_for_other_content_dead_lettered(
    deliver: DeliverCall, emulator: EmulatorClient
) -> None:
    deliver({**BODY, "idempotencyKey": "k"}, id="one")

    out = deliver({**BODY, "message": "changed", "idempotencyKey": "k"}, id="two")

    assert out.value is not None and json.loads(out.value)["messageId"] == "two"
    assert len(emulator.sms()) == 3


def test_outbox_country_outside_allowlist_dead_lettered(
    deliver: DeliverCall, emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMS_ALLOWED_COUNTRY_CODES", "US,CA")
    use_services(None)

    out = deliver({"to": ["+14255550100", "+442071838750"], "message": "x"})

    assert out.value is not None
    assert [e["pointer"] for e in json.loads(out.value)["errors"]] == ["/to/1"]
    assert emulator.sms() == []


def test_outbox_recorded_retryable_failure_resent_as_next_attempt(
    deliver: DeliverCall, emulator: EmulatorClient, app_env: dict[str, str]
) -> None:
    """A record another worker left: one recipient failed 503, one never tried. The retry
    resends only those two, the failed one under a new repeatability id (test_item_failures.py
    has ACS itself fail a recipient)."""
    first, failed, untried = BODY["to"]
    other = _store(app_env)
    claim = other.claim(QUEUE_SCOPE, "msg-1",
                        SmsRequest.parse(BODY, Settings.from_env()).fingerprint())
    claim.record(0, BODY["to"], [
        RecipientResult(first, True, 202, message_id="earlier"),
        RecipientResult(failed, False, 503, error="Service unavailable"),
    ])
    other.release(claim)

    assert deliver(BODY).value is None

    sent = {entry["to"]: entry for entry in emulator.sms()}
    assert sorted(sent) == sorted([failed, untried])
    assert sent[failed]["repeatabilityRequestId"] == claim.request_id(failed, 1)
    assert sent[untried]["repeatabilityRequestId"] == claim.request_id(untried, 0)


def test_outbox_expired_record_sent_again(deliver: DeliverCall, emulator: EmulatorClient,
                                          app_env: dict[str, str]) -> None:
    old = _store(app_env, clock=_ago(RECORD_TTL + dt.timedelta(seconds=1)))
    claim = old.claim(QUEUE_SCOPE, "msg-1",
                      SmsRequest.parse(BODY, Settings.from_env()).fingerprint())
    old.complete(claim)

    deliver(BODY)

    assert sent_to(emulator.sms()) == sorted(BODY["to"])


def test_outbox_checkpointed_pages_not_resent_after_kill(
    deliver: DeliverCall, emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch,
    app_env: dict[str, str],
) -> None:
    """With a checkpoint after every call, a worker killed before completion leaves every
    page's results stored: the redelivery sends nothing at all."""
    monkeypatch.setattr("shared.sms.service.CHECKPOINT_SECONDS", 0.0)

    def killed(self: TableIdempotencyStore, *args: Any, **kwargs: Any) -> None:
        raise WorkerKilled("simulated crash")

    with monkeypatch.context() as patch:
        patch.setattr(TableIdempotencyStore, "complete", killed)
        with function_raises(WorkerKilled):
            deliver({"to": numbers(250), "message": "bulk"})
    _end_lease(app_env, "msg-1")

    assert deliver({"to": numbers(250), "message": "bulk"}, dequeue_count=2).value is None

    assert emulator.counters()["sms.send"] == 3
    assert sent_to(emulator.sms()) == sorted(numbers(250))


def test_store_more_pages_than_one_transaction_all_recorded(app_env: dict[str, str]) -> None:
    store = _store(app_env)
    claim = store.claim(QUEUE_SCOPE, "many-pages", "fingerprint")
    pages = [[f"+1425555{i:04d}"] for i in range(130)]
    for index, page in enumerate(pages):
        claim.record(index, page, [RecipientResult(page[0], True, 202, message_id=str(index))])

    store.complete(claim)

    replay = store.claim(QUEUE_SCOPE, "many-pages", "fingerprint")
    assert replay.completed and len(replay.results) == 130
    assert replay.results["+14255550129"].message_id == "129"


def _row_keys(app_env: dict[str, str], key: str) -> list[str]:
    settings = Settings.from_env()
    service = build_service_client(settings.table_endpoint, get_services().credential)
    rows = service.get_table_client(settings.idempotency_table_name).query_entities(
        "PartitionKey eq @pk", parameters={"pk": TableIdempotencyStore.partition(QUEUE_SCOPE, key)})
    return sorted(row["RowKey"] for row in rows)


def _page_results(pages: list[list[str]]) -> dict[str, RecipientResult]:
    return {n: RecipientResult(n, True, 202, message_id=f"m-{n}") for page in pages for n in page}


def test_store_completed_in_one_go_results_in_head_no_page_rows(
    app_env: dict[str, str]
) -> None:
    store = _store(app_env)
    claim = store.claim(QUEUE_SCOPE, "one-go", "fingerprint")
    pages = [numbers(100), numbers(100, start=100), numbers(7, start=200)]
    for index, page in enumerate(pages):
        claim.record(index, page, [_page_results(pages)[n] for n in page])

    store.complete(claim)

    assert _row_keys(app_env, "one-go") == ["head"]
    replay = store.claim(QUEUE_SCOPE, "one-go", "fingerprint")
    assert replay.completed and replay.results == _page_results(pages)
    assert list(replay.results) == [n for page in pages for n in page]


def test_store_resumed_record_completes_in_page_rows_all_results_kept(
    app_env: dict[str, str]
) -> None:
    """A record that already has result rows (here from a worker whose lease ran out) keeps
    its results in rows: the head never holds an older copy of a page a row holds."""
    pages = [numbers(100), numbers(3, start=100)]
    results = _page_results(pages)
    dead = _store(app_env, clock=_ago(LEASE + dt.timedelta(seconds=1)))
    first = dead.claim(QUEUE_SCOPE, "resumed", "fingerprint")
    first.record(0, pages[0], [results[n] for n in pages[0]])
    dead.checkpoint(first)
    store = _store(app_env)
    claim = store.claim(QUEUE_SCOPE, "resumed", "fingerprint")
    claim.record(1, pages[1], [results[n] for n in pages[1]])

    store.complete(claim)

    assert _row_keys(app_env, "resumed") == ["head", "page00000", "page00001"]
    replay = store.claim(QUEUE_SCOPE, "resumed", "fingerprint")
    assert replay.completed and replay.results == results


def _fits_one_queue_message(text: str) -> bool:
    # The host base64-encodes the output binding's UTF-8; a queue message holds 64 KiB.
    return len(base64.b64encode(text.encode("utf-8"))) <= 64 * 1024


LARGE_BAD_MESSAGES: list[tuple[str, bytes]] = [
    # Not JSON: about 48 KiB of UTF-8, the most a base64 trigger message can carry.
    ("euro-signs", ("send €" + "€" * 16_000).encode()),
    ("emoji", ("send " + "😀" * 12_000).encode()),
    ("control-characters", b"\x01" * 48_000),
    ("quotes", b'"' * 48_000),
    ("not-utf8", b"\xff" * 48_000),
]


@pytest.mark.parametrize(("case", "raw"), LARGE_BAD_MESSAGES,
                         ids=[c for c, _ in LARGE_BAD_MESSAGES])
def test_outbox_large_malformed_message_dead_letter_fits_queue_message(
    deliver: DeliverCall, case: str, raw: bytes
) -> None:
    out = deliver(raw, id=f"large-{case}")

    assert out.value is not None and _fits_one_queue_message(out.value)
    letter = json.loads(out.value)
    assert letter["bodyTruncated"] is True and letter["messageId"] == f"large-{case}"
    if letter["bodyEncoding"] == "utf-8":
        assert raw.decode().startswith(letter["body"])
        copied = len(letter["body"].encode())
    else:
        copied = len(base64.b64decode(letter["body"]))
        assert raw.startswith(base64.b64decode(letter["body"]))
    # As much as fits: escapes aside, the copy fills most of the room.
    assert copied >= (6_000 if case == "control-characters" else 20_000)


def test_outbox_many_field_errors_dead_letter_fits_queue_message(deliver: DeliverCall) -> None:
    body = {"to": [f"+1425CALL{i:04d}" for i in range(1000)], "message": "x"}

    out = deliver(body)

    assert out.value is not None and _fits_one_queue_message(out.value)
    letter = json.loads(out.value)
    assert letter["errorsTruncated"] is True
    assert 100 < len(letter["errors"]) < 1000
    assert letter["errors"][0] == {"pointer": "/to/0",
                                   "detail": "Not a phone number in E.164 format."}
