"""CreateIdentity and IssueToken called as the Functions host calls them, against the emulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import jwt
import pytest

import CreateIdentity
import IssueToken
from devhost.direct import http_request, json_body
from emulator.client import EmulatorClient


def _claims(token: str) -> dict[str, object]:
    # The ACS token is checked by the emulator's verify endpoint; here only its content matters.
    return jwt.decode(token, options={"verify_signature": False})


def test_create_identity_first_call_creates_then_returns_existing(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    mapped_rows: Callable[[], list[dict[str, object]]],
) -> None:
    first = CreateIdentity.main(http_request("POST", "identities", token=user_token))
    second = CreateIdentity.main(http_request("POST", "identities", token=user_token))

    assert first.status_code == 201
    assert second.status_code == 200
    user_id = json_body(first)["communicationUserId"]
    assert user_id.startswith("8:acs:")
    assert json_body(second) == {"communicationUserId": user_id}
    assert [i["id"] for i in emulator.identities() if i["state"] == "active"] == [user_id]
    assert [row["CommunicationUserId"] for row in mapped_rows()] == [user_id]
    assert first.headers["Cache-Control"] == "no-store"


def test_issue_token_first_use_creates_identity_and_token_in_one_call(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    response = IssueToken.main(http_request("POST", "token", token=user_token))

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = json_body(response)
    assert set(body) == {"token", "expiresOn", "communicationUserId"}
    counters = emulator.counters()
    assert counters["identity.create"] == 1
    assert counters["identity.issueToken"] == 0
    claims = _claims(body["token"])
    assert claims["skypeid"] == body["communicationUserId"].removeprefix("8:")
    # Defaults: TOKEN_SCOPES (chat,voip) and TOKEN_EXPIRES_MINUTES (60).
    assert set(str(claims["acsScope"]).split(",")) == {"chat", "voip"}
    lifetime = datetime.fromisoformat(body["expiresOn"]).timestamp() - time.time()
    assert 55 * 60 < lifetime <= 60 * 60 + 5
    assert emulator.verify_token(body["token"])["valid"] is True


def test_issue_token_returning_user_same_identity_requested_scopes_and_expiry(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    first = json_body(IssueToken.main(http_request("POST", "token", token=user_token)))
    again = IssueToken.main(http_request(
        "POST", "token", token=user_token, body={"scopes": ["voip"], "expiresInMinutes": 1440}
    ))

    assert again.status_code == 200
    body = json_body(again)
    assert body["communicationUserId"] == first["communicationUserId"]
    assert body["token"] != first["token"]
    assert _claims(body["token"])["acsScope"] == "voip"
    lifetime = datetime.fromisoformat(body["expiresOn"]).timestamp() - time.time()
    assert 1435 * 60 < lifetime <= 1440 * 60 + 5
    assert emulator.counters()["identity.create"] == 1


def test_issue_token_other_user_gets_other_identity(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    mine = json_body(IssueToken.main(http_request("POST", "token", token=user_token)))
    theirs = json_body(IssueToken.main(
        http_request("POST", "token", token=emulator.mint("user-2"))
    ))
    assert mine["communicationUserId"] != theirs["communicationUserId"]


def test_issue_token_caller_keyed_by_oid_when_present(
    app_env: dict[str, str], emulator: EmulatorClient
) -> None:
    # Entra ID's `sub` differs per application; `oid` is the user. Same oid: same identity.
    a = emulator.mint("pairwise-sub-a", claims={"oid": "0b7c9a6e-user"})
    b = emulator.mint("pairwise-sub-b", claims={"oid": "0b7c9a6e-user"})
    first = json_body(IssueToken.main(http_request("POST", "token", token=a)))
    second = json_body(IssueToken.main(http_request("POST", "token", token=b)))
    assert first["communicationUserId"] == second["communicationUserId"]


def test_issue_token_identity_deleted_in_acs_maps_new_identity(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    mapped_rows: Callable[[], list[dict[str, object]]],
) -> None:
    old = json_body(CreateIdentity.main(http_request("POST", "identities", token=user_token)))
    emulator.delete_identity(old["communicationUserId"])

    response = IssueToken.main(http_request("POST", "token", token=user_token))

    assert response.status_code == 200
    new_id = json_body(response)["communicationUserId"]
    assert new_id != old["communicationUserId"]
    assert [row["CommunicationUserId"] for row in mapped_rows()] == [new_id]
    assert emulator.verify_token(json_body(response)["token"])["valid"] is True


def test_issue_token_scope_not_offered_by_service_400_names_offered_scopes_without_acs_call(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    # voip.join is an ACS scope, but not one this deployment offers (TOKEN_SCOPES=chat,voip):
    # the same 400 as an unknown scope, naming what the deployment does offer.
    for scope in ("voip.join", "admin"):
        response = IssueToken.main(http_request(
            "POST", "token", token=user_token, body={"scopes": ["chat", scope]}
        ))

        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"
        [error] = json_body(response)["errors"]
        assert error["pointer"] == "/scopes/1"
        assert error["detail"] == "Not offered; this service issues chat, voip."
    assert emulator.counters()["identity.create"] == 0


def test_issue_token_token_scopes_setting_extends_offer(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOKEN_SCOPES", "chat,voip,voip.join")
    monkeypatch.setenv("TOKEN_EXPIRES_MINUTES", "120")
    from shared.services import use_services

    use_services(None)
    body = json_body(IssueToken.main(http_request(
        "POST", "token", token=user_token, body={"scopes": ["voip.join"]}
    )))
    assert _claims(body["token"])["acsScope"] == "voip.join"
    lifetime = datetime.fromisoformat(body["expiresOn"]).timestamp() - time.time()
    assert 115 * 60 < lifetime <= 120 * 60 + 5
