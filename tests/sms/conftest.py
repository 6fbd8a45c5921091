"""SMS fixtures: a token with the send role and the SendSms / SmsOutbox entry points."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import azure.functions as func
import pytest

import SendSms
import SmsOutbox
from devhost.direct import http_request
from emulator.client import EmulatorClient
from shared.services import use_services
from tests.sms.support import Output, queue_message

SendCall = Callable[..., func.HttpResponse]
DeliverCall = Callable[..., Output]


@pytest.fixture
def sender_token(emulator: EmulatorClient) -> str:
    return emulator.mint("backend-sms", roles=["Sms.Send"])


@pytest.fixture
def one_call_at_a_time(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """SMS_SEND_CONCURRENCY=1: pages are sent in order, one call after the other, for tests
    whose story is "the first call went through, then ACS failed"."""
    monkeypatch.setenv("SMS_SEND_CONCURRENCY", "1")
    use_services(None)


@pytest.fixture
def send(app_env: dict[str, str], sender_token: str) -> SendCall:
    """POST /api/sms through the function's entry point, with the send-role token by default."""

    def call(body: Any = None, *, key: str | None = None, token: str | None = sender_token,
             raw: bytes | None = None, headers: dict[str, str] | None = None
             ) -> func.HttpResponse:
        all_headers = dict(headers or {})
        if key is not None:
            all_headers["Idempotency-Key"] = key
        return SendSms.main(http_request("POST", "sms", body=body, token=token, raw=raw,
                                         headers=all_headers))

    return call


@pytest.fixture
def opt_out(emulator: EmulatorClient) -> Callable[[list[str]], None]:
    """Opt numbers out of the emulator's SMS_FROM through the ACS opt-out API itself."""

    def call(recipients: list[str]) -> None:
        response = emulator.http.post(
            f"{emulator.settings['ACS_ENDPOINT']}/sms/optouts:add",
            params={"api-version": "2026-01-23"},
            json={"from": emulator.settings["SMS_FROM"],
                  "recipients": [{"to": n} for n in recipients]},
            headers={"Authorization": f"Bearer {emulator.managed_identity_token()}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert all(item["httpStatusCode"] == 200 for item in response.json()["value"])

    return call


@pytest.fixture
def deliver(app_env: dict[str, str]) -> DeliverCall:
    """Deliver one sms-outbox message to SmsOutbox.main; returns the dead-letter binding."""

    def call(body: Any, *, id: str = "msg-1", dequeue_count: int = 1) -> Output:
        out = Output()
        SmsOutbox.main(queue_message(body, id=id, dequeue_count=dequeue_count), out)
        return out

    return call
