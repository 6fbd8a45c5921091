"""Dependency failures through the emulator's fault injection: recover, or a clean 503."""

from __future__ import annotations

import socket
import time

import azure.functions as func
import pytest

import CreateIdentity
import IssueToken
from devhost.direct import http_request, json_body
from emulator.client import EmulatorClient
from shared.services import use_services


@pytest.fixture
def short_retry_budget(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACS_RETRY_SECONDS", "2")
    use_services(None)


def _assert_clean_503(response: func.HttpResponse) -> dict[str, object]:
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    body: dict[str, object] = json_body(response)
    text = response.get_body().decode()
    for internal in ("Traceback", "azure.", "Error(", "127.0.0.1", "https://"):
        assert internal not in text
    return body


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (429, 1), (500, None)])
def test_issue_token_transient_acs_fault_recovered(
    status: int, retry_after: int | None, app_env: dict[str, str], emulator: EmulatorClient,
    user_token: str,
) -> None:
    IssueToken.main(http_request("POST", "token", token=user_token))  # identity exists
    extra = {"retryAfter": retry_after} if retry_after else {}
    emulator.fault("identity.issueToken", status, count=2, **extra)

    response = IssueToken.main(http_request("POST", "token", token=user_token))

    assert response.status_code == 200
    assert emulator.counters()["identity.issueToken"] == 3


def test_issue_token_persistent_throttling_passes_retry_after_on(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    IssueToken.main(http_request("POST", "token", token=user_token))
    # Retry-After beyond the retry budget: answer at once, no sleeping inside the function.
    emulator.fault("identity.issueToken", 429, count=50, retryAfter=120)

    started = time.monotonic()
    response = IssueToken.main(http_request("POST", "token", token=user_token))

    assert time.monotonic() - started < 5
    _assert_clean_503(response)
    assert response.headers["Retry-After"] == "120"
    assert emulator.counters()["identity.issueToken"] == 1  # no retry: it would not fit


@pytest.mark.usefixtures("short_retry_budget")
def test_issue_token_persistent_acs_outage_503_within_budget(
    emulator: EmulatorClient, user_token: str
) -> None:
    emulator.fault("identity.create", 503, count=100)

    started = time.monotonic()
    response = IssueToken.main(http_request("POST", "token", token=user_token))

    assert time.monotonic() - started < 10
    _assert_clean_503(response)
    assert emulator.counters()["identity.create"] >= 2


@pytest.mark.usefixtures("short_retry_budget")
def test_create_identity_managed_identity_endpoint_down_503(
    emulator: EmulatorClient, user_token: str
) -> None:
    emulator.fault("mi.token", 503, count=1000)

    response = CreateIdentity.main(http_request("POST", "identities", token=user_token))

    _assert_clean_503(response)
    assert emulator.counters()["identity.create"] == 0


def test_issue_token_identity_provider_down_503(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    emulator.fault("oidc.jwks", 503, count=100)
    response = IssueToken.main(http_request("POST", "token", token=user_token))
    _assert_clean_503(response)
    assert emulator.counters()["identity.create"] == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_issue_token_table_storage_down_503(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    down = app_env["IDENTITY_TABLE_ENDPOINT"].replace(
        app_env["IDENTITY_TABLE_ENDPOINT"].split("TableEndpoint=")[1].split(";")[0],
        f"http://127.0.0.1:{_closed_port()}/devstoreaccount1",
    )
    monkeypatch.setenv("IDENTITY_TABLE_ENDPOINT", down)
    use_services(None)

    response = IssueToken.main(http_request("POST", "token", token=user_token))

    _assert_clean_503(response)
    assert emulator.counters()["identity.create"] == 0


def test_issue_token_unexpected_acs_answer_502_without_internals(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    emulator.fault("identity.create", 400, count=1)
    response = IssueToken.main(http_request("POST", "token", token=user_token))
    assert response.status_code == 502
    assert "Traceback" not in response.get_body().decode()
    assert json_body(response)["status"] == 502
