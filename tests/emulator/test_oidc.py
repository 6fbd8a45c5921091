"""The OIDC issuer of app-user tokens: discovery, JWKS, minting and key rotation."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests

from tests.support import EmulatorClient


def _get(emulator: EmulatorClient, path: str) -> dict[str, Any]:
    response = emulator.http.get(f"{emulator.issuer}{path}", timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _validate(emulator: EmulatorClient, token: str, **options: Any) -> dict[str, Any]:
    """Validate the way the service will: discovery -> JWKS -> key by kid."""
    discovery = _get(emulator, "/.well-known/openid-configuration")
    jwks = jwt.PyJWKSet.from_dict(_get(emulator, discovery["jwks_uri"].removeprefix(
        emulator.issuer)))
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(item for item in jwks.keys if item.key_id == kid)
    claims: dict[str, Any] = jwt.decode(token, key.key, algorithms=["RS256"],
                                        issuer=discovery["issuer"], **options)
    return claims


def test_oidc_discovery_describes_issuer(emulator: EmulatorClient) -> None:
    body = _get(emulator, "/.well-known/openid-configuration")
    assert body["issuer"] == emulator.settings["AUTH_ISSUER"]
    assert body["jwks_uri"] == f"{emulator.issuer}/jwks"
    assert body["token_endpoint"] == f"{emulator.issuer}/token"
    assert body["id_token_signing_alg_values_supported"] == ["RS256"]


def test_oidc_jwks_publishes_rsa_signing_keys(emulator: EmulatorClient) -> None:
    keys = _get(emulator, "/jwks")["keys"]
    assert keys
    for key in keys:
        assert {"kid", "n", "e"} <= set(key)
        assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")


def test_oidc_mint_defaults_validate_against_jwks(emulator: EmulatorClient) -> None:
    token = emulator.mint("user-7", roles=["Sms.Send"])
    claims = _validate(emulator, token, audience=emulator.settings["AUTH_AUDIENCE"])
    assert claims["sub"] == "user-7" and claims["roles"] == ["Sms.Send"]
    assert 3500 < claims["exp"] - time.time() <= 3600
    assert claims["nbf"] <= time.time()


def test_oidc_mint_response_shape(emulator: EmulatorClient) -> None:
    response = emulator.http.post(f"{emulator.issuer}/token", json={"sub": "u", "ttl": 120},
                                  timeout=10)
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 120


def test_oidc_mint_negative_ttl_expired(emulator: EmulatorClient) -> None:
    token = emulator.mint(ttl=-30)
    with pytest.raises(jwt.ExpiredSignatureError):
        _validate(emulator, token, audience=emulator.settings["AUTH_AUDIENCE"])


def test_oidc_mint_aud_and_claims_override(emulator: EmulatorClient) -> None:
    future = int(time.time()) + 600
    token = emulator.mint(aud="api://other", claims={"nbf": future, "tid": "t1"})
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "api://other" and claims["nbf"] == future and claims["tid"] == "t1"
    with pytest.raises(jwt.ImmatureSignatureError):
        _validate(emulator, token, audience="api://other")


def test_oidc_mint_null_claim_removes_it(emulator: EmulatorClient) -> None:
    token = emulator.mint(claims={"sub": None, "iss": "https://evil.example"})
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "sub" not in claims and claims["iss"] == "https://evil.example"


@pytest.mark.parametrize("body", [{}, {"sub": 5}, {"sub": "u", "ttl": "x"},
                                  {"sub": "u", "roles": "admin"}, {"sub": "u", "claims": []},
                                  {"sub": "u", "aud": 7}])
def test_oidc_mint_bad_body_400(emulator: EmulatorClient, body: dict[str, Any]) -> None:
    response = emulator.http.post(f"{emulator.issuer}/token", json=body, timeout=10)
    assert response.status_code == 400 and "error" in response.json()


def test_oidc_rotate_keeps_previous_key_for_rollover(emulator: EmulatorClient) -> None:
    old_token = emulator.mint()
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    emulator.rotate_oidc_key()
    new_token = emulator.mint()
    new_kid = jwt.get_unverified_header(new_token)["kid"]
    assert new_kid != old_kid
    assert [key["kid"] for key in _get(emulator, "/jwks")["keys"]] == [new_kid, old_kid]
    audience = emulator.settings["AUTH_AUDIENCE"]
    assert _validate(emulator, old_token, audience=audience)["sub"] == "user-1"
    assert _validate(emulator, new_token, audience=audience)["sub"] == "user-1"


def test_oidc_rotate_without_retain_drops_old_key(emulator: EmulatorClient) -> None:
    old_kid = jwt.get_unverified_header(emulator.mint())["kid"]
    response = emulator.http.post(f"{emulator.admin}/oidc/rotate",
                                  json={"retainPrevious": False}, timeout=10)
    assert response.status_code == 200
    kids = [key["kid"] for key in _get(emulator, "/jwks")["keys"]]
    assert kids == [response.json()["kid"]] and old_kid not in kids


def test_oidc_reset_keeps_signing_keys(emulator: EmulatorClient) -> None:
    before = _get(emulator, "/jwks")
    emulator.reset()
    assert _get(emulator, "/jwks") == before


def test_oidc_wrong_method_405(emulator: EmulatorClient) -> None:
    response = requests.post(f"{emulator.issuer}/jwks", verify=emulator.http.verify, timeout=10)
    assert response.status_code == 405 and response.headers["Allow"] == "GET"


@pytest.mark.parametrize("claims", [
    {"iss": ["https://a", "https://b"]}, {"iss": 5}, {"iss": {"x": 1}},
])
def test_oidc_mint_claim_of_unsignable_type_400(emulator: EmulatorClient,
                                                claims: dict[str, Any]) -> None:
    response = emulator.http.post(f"{emulator.issuer}/token",
                                  json={"sub": "u", "claims": claims}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ValidationError"
