"""Caller-token attack matrix: every forged or unusable token is a 401 with no side effect."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Callable

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import IssueToken
from shared.auth import CallerAuthenticator
from shared.errors import Unauthenticated
from tests.support import EmulatorClient, http_request, json_body


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, object], claims: dict[str, object]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def _good_claims(emulator: EmulatorClient, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": emulator.settings["AUTH_ISSUER"], "sub": "attacker", "iat": now, "nbf": now,
        "exp": now + 600, "aud": emulator.settings["AUTH_AUDIENCE"],
    }
    claims.update(overrides)
    return claims


def _emulator_kid(emulator: EmulatorClient) -> str:
    kid: str = jwt.get_unverified_header(emulator.mint("x"))["kid"]
    return kid


def _issuer_public_pem(emulator: EmulatorClient) -> bytes:
    jwks = requests.get(f"{emulator.issuer}/jwks", verify=emulator.http.verify, timeout=10).json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    pem: bytes = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


def _foreign_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


ATTACKS: dict[str, Callable[[EmulatorClient], str | None]] = {
    "no_token": lambda e: None,
    "wrong_scheme": lambda e: f"Basic {base64.b64encode(b'user:pass').decode()}",
    "malformed": lambda e: "Bearer not-a-jwt",
    "alg_none": lambda e: "Bearer " + _unsigned({"alg": "none", "typ": "JWT"}, _good_claims(e)),
    "hs256_with_issuer_public_key": lambda e: "Bearer " + _hs256_forgery(e),
    "unknown_kid": lambda e: "Bearer " + jwt.encode(
        _good_claims(e), _foreign_key(), algorithm="RS256", headers={"kid": "no-such-key"}
    ),
    "key_of_another_issuer_same_kid": lambda e: "Bearer " + jwt.encode(
        _good_claims(e), _foreign_key(), algorithm="RS256", headers={"kid": _emulator_kid(e)}
    ),
    "bad_signature": lambda e: "Bearer " + _tamper_signature(e.mint("user-1")),
    "tampered_claims": lambda e: "Bearer " + _tamper_claims(e.mint("user-1")),
    "expired": lambda e: "Bearer " + e.mint("user-1", ttl=-600),
    "not_yet_valid": lambda e: "Bearer " + e.mint(
        "user-1", claims={"nbf": int(time.time()) + 600}
    ),
    "issued_in_future": lambda e: "Bearer " + e.mint(
        "user-1", claims={"iat": int(time.time()) + 600}
    ),
    "wrong_issuer": lambda e: "Bearer " + e.mint(
        "user-1", claims={"iss": "https://evil.example/"}
    ),
    "wrong_audience": lambda e: "Bearer " + e.mint("user-1", aud="api://some-other-app"),
    "missing_subject": lambda e: "Bearer " + e.mint("user-1", claims={"sub": None}),
    "missing_expiry": lambda e: "Bearer " + e.mint("user-1", claims={"exp": None}),
    "oversized": lambda e: "Bearer " + "a" * 20_000 + ".b.c",
}


def _hs256_forgery(emulator: EmulatorClient) -> str:
    # PyJWT itself refuses to HMAC-sign with a PEM, which is exactly the classic attack: build
    # the token by hand with the issuer's public key as the HMAC secret.
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": _emulator_kid(emulator)})
                  .encode())
    payload = _b64(json.dumps(_good_claims(emulator)).encode())
    signature = hmac.new(_issuer_public_pem(emulator), f"{header}.{payload}".encode(),
                         hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _tamper_signature(token: str) -> str:
    head, body, sig = token.split(".")
    flipped = sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")
    return f"{head}.{body}.{flipped}"


def _tamper_claims(token: str) -> str:
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "someone-else"
    return f"{head}.{_b64(json.dumps(claims).encode())}.{sig}"


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_issue_token_attack_token_unauthenticated_without_side_effects(
    attack: str, app_env: dict[str, str], emulator: EmulatorClient,
    table_names: Callable[[], set[str]],
) -> None:
    authorization = ATTACKS[attack](emulator)
    headers = {"Authorization": authorization} if authorization else {}

    response = IssueToken.main(http_request("POST", "token", headers=headers, body={}))

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = json_body(response)
    assert body["status"] == 401 and body["title"]
    counters = emulator.counters()
    assert counters["identity.create"] == counters["identity.issueToken"] == 0
    assert counters["mi.token"] == 0
    assert app_env["IDENTITY_TABLE_NAME"] not in table_names()


def test_authenticator_unknown_kid_flood_fetches_jwks_at_most_twice(
    app_env: dict[str, str], emulator: EmulatorClient
) -> None:
    forged = [jwt.encode({"sub": "x"}, _foreign_key(), algorithm="RS256",
                         headers={"kid": f"kid-{i}"}) for i in range(20)]
    for token in forged:
        response = IssueToken.main(http_request("POST", "token", token=token))
        assert response.status_code == 401
    assert 1 <= emulator.counters()["oidc.jwks"] <= 2


def test_authenticator_repeated_valid_tokens_fetch_jwks_once(
    app_env: dict[str, str], emulator: EmulatorClient
) -> None:
    for i in range(5):
        response = IssueToken.main(http_request("POST", "token", token=emulator.mint(f"u{i}")))
        assert response.status_code == 200
    counters = emulator.counters()
    assert counters["oidc.jwks"] == 1
    assert counters["oidc.discovery"] == 1
    assert counters["mi.token"] == 1


def test_authenticator_roles_read_from_token(
    emulator: EmulatorClient, emulator_settings: dict[str, str]
) -> None:
    authenticator = CallerAuthenticator(
        emulator_settings["AUTH_ISSUER"], ("api://other", emulator_settings["AUTH_AUDIENCE"]),
        ssl_context=ssl.create_default_context(cafile=emulator_settings["REQUESTS_CA_BUNDLE"]),
    )
    caller = authenticator.authenticate(f"Bearer {emulator.mint('svc', roles=['Sms.Send'])}")
    assert caller.roles == frozenset({"Sms.Send"})
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(f"Bearer {emulator.mint('svc', aud='api://third')}")


def test_issue_token_no_token_challenge_without_error_code(app_env: dict[str, str]) -> None:
    # RFC 6750 3.1: a request without credentials gets a bare challenge.
    response = IssueToken.main(http_request("POST", "token"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_issue_token_bad_token_challenge_names_invalid_token(
    app_env: dict[str, str], emulator: EmulatorClient
) -> None:
    response = IssueToken.main(http_request("POST", "token", token=emulator.mint("u", ttl=-600)))
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
