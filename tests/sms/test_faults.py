"""Failure modes by the emulator's fault injection and a storage endpoint that is down."""

from __future__ import annotations

import socket

import pytest

from devhost.direct import json_body
from emulator.client import EmulatorClient
from shared.config.settings import parse_connection_string
from shared.errors import UpstreamUnavailable
from shared.services import use_services
from tests.functions import function_raises
from tests.sms.conftest import DeliverCall, SendCall
from tests.sms.support import numbers, sent_to

BODY = {"to": numbers(2), "message": "fault test"}


@pytest.fixture
def table_down(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the tables at a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    parts = parse_connection_string(app_env["IDENTITY_TABLE_ENDPOINT"])
    monkeypatch.setenv("IDENTITY_TABLE_ENDPOINT", (
        f"DefaultEndpointsProtocol=http;AccountName={parts['accountname']};"
        f"AccountKey={parts['accountkey']};"
        f"TableEndpoint=http://127.0.0.1:{port}/{parts['accountname']};"
    ))
    use_services(None)


@pytest.fixture
def short_retry_budget(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACS_RETRY_SECONDS", "1")
    use_services(None)


@pytest.mark.parametrize(("status", "count", "extra"), [
    (503, 2, {}), (500, 1, {}), (429, 1, {"retryAfter": 1}),
], ids=["503-twice", "500-once", "429-retry-after-1s"])
def test_sendsms_transient_acs_fault_recovered_sent_once(
    send: SendCall, emulator: EmulatorClient, status: int, count: int, extra: dict[str, int]
) -> None:
    emulator.fault("sms.send", status, count=count, **extra)

    response = send(BODY, key="transient")

    assert response.status_code == 202
    assert emulator.counters()["sms.send"] == count + 1
    assert sent_to(emulator.sms()) == sorted(BODY["to"])


def test_sendsms_throttled_beyond_budget_503_with_retry_after(
    send: SendCall, emulator: EmulatorClient
) -> None:
    emulator.fault("sms.send", 429, count=1, retryAfter=90)

    response = send(BODY, key="throttled")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "90"
    assert emulator.counters()["sms.send"] == 1 and emulator.sms() == []
    # The record was released: the client's retry goes through at once.
    assert send(BODY, key="throttled").status_code == 202
    assert sent_to(emulator.sms()) == sorted(BODY["to"])


def test_sendsms_acs_down_503_with_retry_after(
    send: SendCall, emulator: EmulatorClient, short_retry_budget: None
) -> None:
    emulator.fault("sms.send", 503, count=50)

    response = send(BODY, key="down")

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert json_body(response)["status"] == 503
    assert emulator.sms() == []


def test_sendsms_managed_identity_down_503(send: SendCall, emulator: EmulatorClient) -> None:
    emulator.fault("mi.token", 500, count=50)

    response = send(BODY, key="mi-down")

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert emulator.counters()["sms.send"] == 0


def test_sendsms_table_down_503_nothing_sent(send: SendCall, emulator: EmulatorClient,
                                             table_down: None) -> None:
    response = send(BODY, key="table-down")

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert emulator.counters()["sms.send"] == 0


def test_outbox_table_down_raises_nothing_sent(deliver: DeliverCall, emulator: EmulatorClient,
                                               table_down: None) -> None:
    with function_raises(UpstreamUnavailable):
        deliver(BODY)

    assert emulator.counters()["sms.send"] == 0


def test_outbox_managed_identity_down_raises(deliver: DeliverCall,
                                             emulator: EmulatorClient) -> None:
    emulator.fault("mi.token", 500, count=50)

    with function_raises(UpstreamUnavailable):
        deliver(BODY)

    assert emulator.counters()["sms.send"] == 0


def test_outbox_acs_down_raises_not_dead_lettered(
    deliver: DeliverCall, emulator: EmulatorClient, short_retry_budget: None
) -> None:
    emulator.fault("sms.send", 503, count=50)

    with function_raises(UpstreamUnavailable):
        deliver(BODY)

    assert emulator.sms() == []
