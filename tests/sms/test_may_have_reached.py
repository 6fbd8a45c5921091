"""A try that may have reached ACS (a 500/502/504, a lost answer) marks its call "may have
sent" for every later outcome, even when the pipeline retried it and the last try was a 503:
the retry then reuses the same repeatability ids, and ACS drops the repeats."""

from __future__ import annotations

import json

import pytest

from devhost.direct import json_body
from emulator.client import EmulatorClient
from shared.errors import UpstreamUnavailable
from shared.services import use_services
from tests.functions import function_raises
from tests.sms.conftest import DeliverCall, SendCall
from tests.sms.support import numbers, sent_to
from tests.sms.test_retry_later import _heads

BODY = {"to": numbers(3), "message": "once"}


def _arm(emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    monkeypatch.setenv("ACS_RETRY_SECONDS", "3")
    use_services(None)
    # ACS acts on the call but answers `status` with a short Retry-After (so the pipeline
    # retries it at once), then throttles the retry beyond the budget.
    emulator.fault("sms.send", status, retryAfter=1, afterHandling=True)
    emulator.fault("sms.send", 503, retryAfter=600)


@pytest.mark.parametrize("status", [502, 500, 504])
def test_sendsms_acted_then_long_503_retry_same_ids_each_sent_once(
    status: int, send: SendCall, emulator: EmulatorClient, app_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _arm(emulator, monkeypatch, status)

    failed = send(BODY, key="reach-1")

    assert failed.status_code == 503
    first = emulator.sms()
    assert sent_to(first) == sorted(numbers(3))  # ACS did send them
    retried = send(BODY, key="reach-1")

    assert retried.status_code == 202, json_body(retried)
    outbox = emulator.sms()
    assert sent_to(outbox) == sorted(numbers(3))  # nobody got a second SMS
    _, (head,) = _heads(app_env)
    assert len(json.loads(head["FirstSent"])) == 1  # attempt 0 only: the same ids


def test_outbox_acted_then_long_503_redelivery_each_sent_once(
    deliver: DeliverCall, emulator: EmulatorClient, app_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _arm(emulator, monkeypatch, 502)

    with function_raises(UpstreamUnavailable):
        deliver(BODY, dequeue_count=1)
    assert deliver(BODY, dequeue_count=2).value is None

    assert sent_to(emulator.sms()) == sorted(numbers(3))
