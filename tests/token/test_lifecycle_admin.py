"""Admin lifecycle routes: a user's identity by user key, revoke, delete, reverse lookup, roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import azure.functions as func
import pytest

import IdentityLookup
import RevokeUserTokens
import UserIdentity
from devhost.direct import http_request, json_body
from emulator.client import EmulatorClient
from shared.services import use_services
from tests.token.issue import issue_token

Rows = Callable[[], list[dict[str, object]]]
Main = Callable[[func.HttpRequest], func.HttpResponse]

# (function, method, route parameter name)
ADMIN_ROUTES: dict[str, tuple[Main, str, str]] = {
    "get_user_identity": (UserIdentity.main, "GET", "userKey"),
    "delete_user_identity": (UserIdentity.main, "DELETE", "userKey"),
    "revoke_user_tokens": (RevokeUserTokens.main, "POST", "userKey"),
    "lookup_identity": (IdentityLookup.main, "GET", "communicationUserId"),
}


def call(case: str, value: str, token: str | None, **extra: Any) -> func.HttpResponse:
    main, method, param = ADMIN_ROUTES[case]
    return main(http_request(method, "admin", token=token, route_params={param: value},
                             **extra))


def test_user_identity_admin_get_by_sub_key_200(
    app_env: dict[str, str], user_token: str, admin_token: str
) -> None:
    identity = issue_token(user_token)["communicationUserId"]

    response = call("get_user_identity", "sub:user-1", admin_token)

    assert response.status_code == 200
    assert json_body(response) == {"communicationUserId": identity}


def test_user_identity_admin_get_by_oid_key_200(
    app_env: dict[str, str], emulator: EmulatorClient, admin_token: str
) -> None:
    # Entra ID tokens carry `oid`: the service keys such users by it, not by `sub`.
    entra_user = emulator.mint("pairwise-sub", claims={"oid": "0f5c2a3e-oid"})
    identity = issue_token(entra_user)["communicationUserId"]

    found = call("get_user_identity", "oid:0f5c2a3e-oid", admin_token)
    by_sub = call("get_user_identity", "sub:pairwise-sub", admin_token)

    assert json_body(found) == {"communicationUserId": identity}
    assert by_sub.status_code == 404


def test_user_identity_admin_get_unknown_user_404(
    app_env: dict[str, str], admin_token: str
) -> None:
    response = call("get_user_identity", "sub:nobody", admin_token)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_revoke_user_tokens_admin_old_token_refused_204(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str, admin_token: str
) -> None:
    before = issue_token(user_token)

    response = call("revoke_user_tokens", "sub:user-1", admin_token)

    assert response.status_code == 204
    assert emulator.verify_token(before["token"])["reason"] == "revoked"
    assert emulator.verify_token(issue_token(user_token)["token"]) == {"valid": True}


def test_user_identity_admin_delete_identity_gone_lookup_404(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str, admin_token: str,
    mapped_rows: Rows, reverse_rows: Rows,
) -> None:
    before = issue_token(user_token)
    identity = before["communicationUserId"]

    response = call("delete_user_identity", "sub:user-1", admin_token)

    assert response.status_code == 204
    assert emulator.verify_token(before["token"])["reason"] == "identity deleted"
    assert mapped_rows() == [] and reverse_rows() == []
    assert call("lookup_identity", identity, admin_token).status_code == 404
    assert call("delete_user_identity", "sub:user-1", admin_token).status_code == 204


def test_identity_lookup_admin_gives_user_key_and_issuer(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str, admin_token: str
) -> None:
    identity = issue_token(user_token)["communicationUserId"]

    response = call("lookup_identity", identity, admin_token)

    assert response.status_code == 200
    assert json_body(response) == {"userKey": "sub:user-1",
                                   "issuer": app_env["AUTH_ISSUER"]}


def test_identity_lookup_unmapped_identity_404(
    app_env: dict[str, str], emulator: EmulatorClient, admin_token: str
) -> None:
    response = call("lookup_identity", "8:acs:00000000-0000-0000-0000-000000000000_unknown",
                    admin_token)
    assert response.status_code == 404


@pytest.mark.parametrize("case", sorted(ADMIN_ROUTES))
def test_admin_route_user_token_without_role_403_no_side_effect(
    case: str, app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    mapped_rows: Rows,
) -> None:
    before = issue_token(user_token)
    value = before["communicationUserId"] if case == "lookup_identity" else "sub:user-1"
    calls = emulator.counters()

    response = call(case, value, user_token)

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert emulator.counters() == calls
    assert emulator.verify_token(before["token"]) == {"valid": True}
    assert len(mapped_rows()) == 1


@pytest.mark.parametrize("case", sorted(ADMIN_ROUTES))
def test_admin_route_without_token_401_bearer_challenge(
    case: str, app_env: dict[str, str], emulator: EmulatorClient
) -> None:
    response = call(case, "sub:user-1", None)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert emulator.counters().get("identity.delete", 0) == 0


def test_admin_route_other_role_403_configured_role_200(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str, admin_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issue_token(user_token)
    monkeypatch.setenv("IDENTITY_ADMIN_ROLE", "Accounts.Offboard")
    use_services(None)
    offboarder = emulator.mint("offboarder", roles=["Accounts.Offboard"])

    assert call("get_user_identity", "sub:user-1", admin_token).status_code == 403
    assert call("get_user_identity", "sub:user-1", offboarder).status_code == 200


def test_admin_route_token_of_other_issuer_audience_401(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    issue_token(user_token)
    wrong_audience = emulator.mint("admin", roles=["Identity.Admin"], aud="api://other")

    assert call("get_user_identity", "sub:user-1", wrong_audience).status_code == 401
