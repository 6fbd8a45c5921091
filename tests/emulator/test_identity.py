"""Identity API rules beyond the examples: api-versions, scopes, lifetimes, ownership and
the token claims."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from emulator.client import EmulatorClient
from tests.emulator.acs_http import AcsHttp, identity_path


@pytest.mark.parametrize("version", ["2021-03-07", "2022-06-01", "2022-10-01", "2023-10-01"])
def test_identity_stable_api_versions_accepted(acs: AcsHttp, version: str) -> None:
    assert acs.call("POST", "/identities", api_version=version).status_code == 201


@pytest.mark.parametrize(("version", "code"), [
    (None, "ApiVersionUnspecified"), ("", "ApiVersionUnspecified"),
    ("2021-03-07-preview1", "InvalidApiVersion"), ("2026-01-23", "InvalidApiVersion"),
])
def test_identity_missing_or_unsupported_api_version_400(acs: AcsHttp, version: str | None,
                                                         code: str) -> None:
    if version == "":
        headers = acs.hmac_headers("POST", "/identities?api-version=", b"")
        response = acs.http.post(f"{acs.endpoint}/identities?api-version=", headers=headers,
                                 timeout=10)
    else:
        response = acs.call("POST", "/identities", api_version=version)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("body", [
    {"scopes": []}, {}, {"scopes": ["chat", "email"]}, {"scopes": "chat"},
    {"scopes": ["chat"], "expiresInMinutes": 59}, {"scopes": ["chat"], "expiresInMinutes": 1441},
    {"scopes": ["chat"], "expiresInMinutes": "60"}, {"scopes": ["chat"], "expiresInMinutes": True},
    {"scopes": [1]},
])
def test_identity_issue_token_invalid_request_validation_error(acs: AcsHttp,
                                                               body: dict[str, Any]) -> None:
    identity_id = acs.create_identity()
    response = acs.call("POST", identity_path(identity_id, "issueAccessToken"), body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "ValidationError"


@pytest.mark.parametrize("body", [
    {"createTokenWithScopes": ["teams"]}, {"createTokenWithScopes": ["chat"],
                                           "expiresInMinutes": 30},
    {"createTokenWithScopes": "chat"},
])
def test_identity_create_invalid_request_validation_error_nothing_created(
    acs: AcsHttp, emulator: EmulatorClient, body: dict[str, Any]
) -> None:
    response = acs.call("POST", "/identities", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ValidationError"
    assert emulator.identities() == []


@pytest.mark.parametrize("minutes", [60, 1440])
def test_identity_issue_token_lifetime_bounds_accepted(acs: AcsHttp, minutes: int) -> None:
    identity_id = acs.create_identity()
    response = acs.call("POST", identity_path(identity_id, "issueAccessToken"),
                        {"scopes": ["voip"], "expiresInMinutes": minutes})
    assert response.status_code == 200
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    assert minutes * 60 - 5 <= claims["exp"] - time.time() <= minutes * 60


def test_identity_token_claims_look_like_acs(acs: AcsHttp) -> None:
    response = acs.call("POST", "/identities",
                        {"createTokenWithScopes": ["chat", "voip.join"]})
    body = response.json()
    header = jwt.get_unverified_header(body["accessToken"]["token"])
    claims = jwt.decode(body["accessToken"]["token"], options={"verify_signature": False})
    assert header["alg"] == "RS256" and "kid" in header
    resource_id = body["identity"]["id"].removeprefix("8:acs:").split("_")[0]
    assert claims["skypeid"] == body["identity"]["id"].removeprefix("8:")
    assert claims["resourceId"] == resource_id
    assert claims["acsScope"] == "chat,voip.join"
    assert isinstance(claims["scp"], int) and claims["ver"]
    assert claims["exp"] - claims["iat"] == 1440 * 60


def test_identity_unknown_or_malformed_id_identity_not_owned(acs: AcsHttp) -> None:
    own = acs.create_identity()
    unknown = own.rsplit("_", 1)[0] + "_00000000-0000-0000-0000-000000000000"
    for identity_id in (unknown, "not-an-id", "8:teamsvisitor:abc"):
        response = acs.call("POST", identity_path(identity_id, "revokeAccessTokens"))
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "IdentityNotOwned"


def test_identity_delete_twice_identity_not_owned(acs: AcsHttp) -> None:
    identity_id = acs.create_identity()
    assert acs.call("DELETE", identity_path(identity_id)).status_code == 204
    again = acs.call("DELETE", identity_path(identity_id))
    assert again.status_code == 401 and again.json()["error"]["code"] == "IdentityNotOwned"


def test_identity_admin_verify_rejects_foreign_and_expired_tokens(
    acs: AcsHttp, emulator: EmulatorClient
) -> None:
    verify = f"{emulator.admin}/tokens/verify"
    forged = jwt.encode({"skypeid": "acs:x_y", "exp": time.time() + 60}, "k" * 32,
                        algorithm="HS256")
    result = emulator.http.post(verify, json={"token": forged}, timeout=10).json()
    assert result["valid"] is False and result["reason"]
    assert emulator.http.post(verify, json={}, timeout=10).status_code == 400
