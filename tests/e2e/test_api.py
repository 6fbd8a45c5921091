"""The HTTP API over real HTTP through the local host, against the emulator and Azurite."""

from __future__ import annotations

import http.client
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from devhost.app import load_app
from tests.e2e.conftest import Functions
from tests.e2e.openapi_check import check_response
from tests.support import EmulatorClient

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _http_routes(repo_root: Path) -> list[tuple[str, str, frozenset[str]]]:
    app = load_app(repo_root)
    return [
        (f.name, f"/{app.host.route_prefix}/{f.trigger['route']}",
         frozenset(m.upper() for m in f.trigger["methods"]))
        for f in app.functions if f.trigger_type == "httpTrigger"
    ]


def _user(emulator: EmulatorClient, **claims: Any) -> dict[str, str]:
    token = emulator.mint(f"e2e-{uuid.uuid4().hex[:10]}", **claims)
    return {"Authorization": f"Bearer {token}"}


def test_e2e_every_route_and_method_served_others_405(
    functions: Functions, repo_root: Path, emulator: EmulatorClient
) -> None:
    routes = _http_routes(repo_root)
    assert {name for name, _, _ in routes} == {"CreateIdentity", "IssueToken", "SendSms"}
    for name, path, methods in routes:
        for method in ALL_METHODS:
            response = requests.request(method, f"{functions.url}{path}", timeout=30)
            if method in methods:
                # No caller token: the function itself answers, with a problem document.
                assert response.status_code == 401, (name, method, functions.log_tail())
                assert response.headers["Content-Type"].startswith("application/problem+json")
            else:
                assert response.status_code == 405, (name, method)
                assert set(response.headers["Allow"].split(", ")) == methods


def test_e2e_unknown_route_404(functions: Functions) -> None:
    assert requests.post(f"{functions.url}/api/nothing-here", timeout=10).status_code == 404
    assert requests.post(f"{functions.url}/token", timeout=10).status_code == 404


@pytest.mark.parametrize("path", ["/api/identities", "/api/token", "/api/sms"])
def test_e2e_no_token_401_problem_matches_openapi(
    functions: Functions, openapi: dict[str, Any], path: str
) -> None:
    response = requests.post(f"{functions.url}{path}", timeout=30)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    check_response(openapi, response)


def test_e2e_mobile_token_flow_same_identity_matches_openapi(
    functions: Functions, emulator: EmulatorClient, openapi: dict[str, Any]
) -> None:
    user = _user(emulator)

    created = requests.post(f"{functions.url}/api/identities", headers=user, timeout=30)
    first = requests.post(f"{functions.url}/api/token", headers=user, timeout=30)
    second = requests.post(
        f"{functions.url}/api/token", headers=user, timeout=30,
        json={"scopes": ["chat"], "expiresInMinutes": 120},
    )
    existing = requests.post(f"{functions.url}/api/identities", headers=user, timeout=30)

    assert created.status_code == 201, functions.log_tail()
    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert existing.status_code == 200
    identity = created.json()["communicationUserId"]
    assert first.json()["communicationUserId"] == identity
    assert second.json()["communicationUserId"] == identity
    assert existing.json()["communicationUserId"] == identity
    assert emulator.verify_token(second.json()["token"])
    for response in (created, first, second, existing):
        check_response(openapi, response)


def test_e2e_token_bad_body_400_problem_matches_openapi(
    functions: Functions, emulator: EmulatorClient, openapi: dict[str, Any]
) -> None:
    response = requests.post(
        f"{functions.url}/api/token", headers=_user(emulator),
        json={"expiresInMinutes": 5}, timeout=30,
    )

    assert response.status_code == 400
    check_response(openapi, response)


def test_e2e_token_not_json_415_problem_matches_openapi(
    functions: Functions, emulator: EmulatorClient, openapi: dict[str, Any]
) -> None:
    response = requests.post(
        f"{functions.url}/api/token", headers={**_user(emulator), "Content-Type": "text/plain"},
        data=b"scopes=chat", timeout=30,
    )

    assert response.status_code == 415
    check_response(openapi, response)


def test_e2e_sms_with_send_role_202_sent_matches_openapi(
    functions: Functions, emulator: EmulatorClient, openapi: dict[str, Any]
) -> None:
    sender = _user(emulator, roles=["Sms.Send"])

    response = requests.post(
        f"{functions.url}/api/sms", timeout=30,
        headers={**sender, "Idempotency-Key": uuid.uuid4().hex},
        json={"to": "+14255550123", "message": "e2e over http"},
    )

    assert response.status_code == 202, (response.text, functions.log_tail())
    check_response(openapi, response)
    result = response.json()["results"][0]
    assert result["to"] == "+14255550123" and result["successful"] is True
    sent = emulator.sms()
    assert len(sent) == 1
    assert "e2e over http" in str(sent[0])


def test_e2e_sms_without_send_role_403_nothing_sent(
    functions: Functions, emulator: EmulatorClient, openapi: dict[str, Any]
) -> None:
    response = requests.post(
        f"{functions.url}/api/sms", headers=_user(emulator), timeout=30,
        json={"to": "+14255550123", "message": "not allowed"},
    )

    assert response.status_code == 403
    check_response(openapi, response)
    assert emulator.sms() == []


def test_e2e_two_authorization_headers_401_even_if_one_is_valid(
    functions: Functions, emulator: EmulatorClient
) -> None:
    """The host joins repeated headers with ", "; the service refuses the joined value."""
    valid = _user(emulator)["Authorization"]
    parts = urlsplit(functions.url)
    for first, second in ((valid, "Bearer x.y.z"), ("Bearer x.y.z", valid), (valid, valid)):
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        connection.putrequest("POST", "/api/token")
        connection.putheader("Authorization", first)
        connection.putheader("Authorization", second)
        connection.putheader("Content-Length", "0")
        connection.endheaders()
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 401
    assert emulator.counters()["identity.create"] == 0
