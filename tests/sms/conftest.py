"""SMS test fixtures: a send-role token, queue message builders and an output binding."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import azure.functions as func
import pytest

import SendSms
from shared.services import get_services
from tests.support import EmulatorClient, http_request


class Output(func.Out[str]):
    """An output binding parameter: azure.functions ships only the protocol, not an instance."""

    def __init__(self) -> None:
        self.value: str | None = None

    def set(self, val: str) -> None:
        self.value = val

    def get(self) -> str | None:  # type: ignore[override]
        return self.value


def numbers(count: int, start: int = 0) -> list[str]:
    """Distinct valid US numbers (phonenumbers and the emulator both accept them)."""
    return [f"+1425555{i:04d}" for i in range(start, start + count)]


@pytest.fixture
def sender_token(emulator: EmulatorClient) -> str:
    return emulator.mint("backend-sms", roles=["Sms.Send"])


@pytest.fixture
def send(app_env: dict[str, str], sender_token: str
         ) -> Callable[..., func.HttpResponse]:
    """POST /api/sms through the function's entry point."""

    def call(body: Any = None, *, key: str | None = None, token: str | None = sender_token,
             raw: bytes | None = None, headers: dict[str, str] | None = None
             ) -> func.HttpResponse:
        all_headers = dict(headers or {})
        if key is not None:
            all_headers["Idempotency-Key"] = key
        return SendSms.main(http_request("POST", "sms", body=body, token=token, raw=raw,
                                         headers=all_headers))

    return call


def queue_message(body: Any, *, id: str = "msg-1", dequeue_count: int = 1) -> func.QueueMessage:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.QueueMessage(id=id, body=raw, dequeue_count=dequeue_count)


@pytest.fixture
def services(app_env: dict[str, str]) -> Iterator[Any]:
    yield get_services()
