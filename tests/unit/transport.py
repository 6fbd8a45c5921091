"""Fakes at the transport boundary for the unit tier: real azure-core requests and responses.

Mocked on purpose: the unit tier runs without the emulator or Azurite, in seconds. What it
fakes is only the wire (as httpx's MockTransport does); every policy, mapping and parser
above it is the real code. The emulator tiers cover the same paths against real servers.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._requests_basic import RestRequestsTransportResponse

Answer = tuple[int, dict[str, str], Any]
Responder = Callable[[Any], Answer]


class FakeTransport(HttpTransport):  # type: ignore[type-arg]
    """Answers every request with `responder(request) -> (status, headers, json body)`."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[Any] = []

    def send(self, request: Any, **kwargs: Any) -> RestRequestsTransportResponse:
        self.requests.append(request)
        status, headers, body = self.responder(request)
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers)
        content = b"" if body is None else json.dumps(body).encode()
        response.raw = io.BytesIO(content)
        response.url = request.url
        response.reason = "fake"
        # The response type azure-core's own requests transport gives `send_request` callers.
        answer = RestRequestsTransportResponse(  # type: ignore[no-untyped-call]
            request=request, internal_response=response)
        answer.read()
        return answer

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeTransport:
        return self

    def __exit__(self, *args: object) -> None:
        pass


def answers(*scripted: Answer) -> Responder:
    """A responder that plays `scripted` answers in order, repeating the last one."""
    queue = list(scripted)

    def respond(request: Any) -> Answer:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return respond


class StaticCredential:
    """A credential whose token never needs fetching; counts the calls made to it."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        return AccessToken("unit-test-token", int(time.time()) + 3600)
