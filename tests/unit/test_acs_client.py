"""AcsClient over a fake transport: status mapping, Retry-After, the retry budget."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from shared.clients.acs import AcsClient
from shared.errors import IdentityGone, UpstreamError, UpstreamUnavailable
from tests.unit.transport import FakeTransport, StaticCredential, answers

ID = "8:acs:00000000-0000-0000-0000-000000000001_00000000-0000-0000-0000-000000000002"
TOKEN = {"token": "t", "expiresOn": "2030-01-01T00:00:00Z"}


def _client(*scripted: tuple[int, dict[str, str], Any], budget: float = 0.0
            ) -> tuple[AcsClient, FakeTransport]:
    transport = FakeTransport(answers(*scripted))
    client = AcsClient("https://acs.example", StaticCredential(),
                       retry_seconds=budget, transport=transport)
    return client, transport


def test_acs_client_issue_token_sends_scopes_and_minutes_returns_token() -> None:
    client, transport = _client((200, {}, TOKEN))

    token = client.issue_token(ID, ["chat"], 60)

    assert token.token == "t"
    [request] = transport.requests
    assert request.method == "POST"
    assert request.url.startswith(f"https://acs.example/identities/{ID}/:issueAccessToken?")
    assert "api-version=2023-10-01" in request.url
    assert request.headers["Authorization"] == "Bearer unit-test-token"


def test_acs_client_throttled_beyond_budget_503_with_server_retry_after() -> None:
    client, transport = _client((429, {"Retry-After": "42"}, {"error": {"code": "x"}}))

    with pytest.raises(UpstreamUnavailable) as raised:
        client.issue_token(ID, ["chat"], 60)

    assert raised.value.retry_after == 42
    assert len(transport.requests) == 1  # 42 s is past the budget: not retried in-process


def test_acs_client_transient_503_retried_within_budget() -> None:
    client, transport = _client((503, {"Retry-After": "0"}, None), (200, {}, TOKEN), budget=5)

    assert client.issue_token(ID, ["chat"], 60).token == "t"
    assert len(transport.requests) == 2


@pytest.mark.parametrize(("status", "body"), [
    (404, {"error": {"code": "IdentityNotFound"}}),
    (401, {"error": {"code": "IdentityNotOwned"}}),
])
def test_acs_client_identity_missing_or_foreign_gone(status: int, body: Any) -> None:
    client, _ = _client((status, {}, body))

    with pytest.raises(IdentityGone):
        client.issue_token(ID, ["chat"], 60)


def test_acs_client_credential_refused_upstream_error_hint_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    client, _ = _client((403, {}, {"error": {"code": "Forbidden"}}))

    with pytest.raises(UpstreamError) as raised:
        client.issue_token(ID, ["chat"], 60)

    assert type(raised.value) is UpstreamError
    assert any("role assignment" in r.getMessage() for r in caplog.records)


def test_acs_client_create_unknown_outcome_not_retried() -> None:
    client, transport = _client((500, {}, None), (201, {}, {"identity": {"id": ID}}), budget=5)

    with pytest.raises(UpstreamUnavailable):
        client.create_identity()

    assert len(transport.requests) == 1


@pytest.mark.parametrize("body", [None, [], {"token": 1}, {"expiresOn": "x"}])
def test_acs_client_unusable_token_body_upstream_error(body: Any) -> None:
    client, _ = _client((200, {}, body))

    with pytest.raises(UpstreamError):
        client.issue_token(ID, ["chat"], 60)
