"""CORS on the emulator's OIDC issuer, as a browser page that signs in at it sees it: discovery
and JWKS for any origin, the development mint endpoint for pages on this machine only."""

from __future__ import annotations

import jwt
import pytest
import requests

from emulator.client import EmulatorClient

PAGE = "http://127.0.0.1:8080"
METADATA = ["/.well-known/openid-configuration", "/jwks"]


def _preflight(emulator: EmulatorClient, path: str, origin: str, method: str,
               headers: str | None = None) -> requests.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        request_headers["Access-Control-Request-Headers"] = headers
    return emulator.http.options(f"{emulator.issuer}{path}", headers=request_headers,
                                 timeout=10)


@pytest.mark.parametrize("origin", [
    PAGE, "http://localhost:5173", "https://localhost", "http://[::1]:3000", "http://127.0.0.2",
])
def test_oidc_cors_mint_preflight_from_loopback_page_allows_json_post(
    emulator: EmulatorClient, origin: str
) -> None:
    answer = _preflight(emulator, "/token", origin, "POST", "content-type")

    assert answer.status_code == 200, answer.text
    assert answer.content == b""
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in [m.strip() for m in answer.headers["Access-Control-Allow-Methods"].split(",")]
    assert answer.headers["Access-Control-Allow-Headers"] == "content-type"
    assert int(answer.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in answer.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in answer.headers


def test_oidc_cors_mint_from_loopback_page_token_readable_and_valid(
    emulator: EmulatorClient
) -> None:
    answer = emulator.http.post(f"{emulator.issuer}/token", json={"sub": "web-user"},
                                headers={"Origin": PAGE}, timeout=10)

    assert answer.status_code == 200, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE
    assert "Origin" in answer.headers["Vary"]
    claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "web-user"
    assert emulator.counters()["oidc.mint"] == 1


def test_oidc_cors_mint_error_answer_carries_origin_too(emulator: EmulatorClient) -> None:
    """So a page can read why its sign-in was refused."""
    answer = emulator.http.post(f"{emulator.issuer}/token", json={"roles": ["x"]},
                                headers={"Origin": PAGE}, timeout=10)

    assert answer.status_code == 400
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE
    assert answer.json()["error"]["code"] == "ValidationError"


@pytest.mark.parametrize("origin", [
    "https://evil.example", "http://localhost.evil.example", "http://127.0.0.1@evil.example",
    "null", "file://", "http://10.0.0.5:8080",
])
def test_oidc_cors_mint_preflight_from_other_origin_refused_403_nothing_minted(
    emulator: EmulatorClient, origin: str
) -> None:
    answer = _preflight(emulator, "/token", origin, "POST", "content-type")

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "OriginNotAllowed"
    assert not any(name.lower().startswith("access-control-") for name in answer.headers)
    assert emulator.counters().get("oidc.mint", 0) == 0


def test_oidc_cors_mint_answer_to_other_origin_has_no_allow_origin(
    emulator: EmulatorClient
) -> None:
    """A request the browser sends without a preflight is answered, but the page cannot read it."""
    answer = emulator.http.post(f"{emulator.issuer}/token", json={"sub": "x"},
                                headers={"Origin": "https://evil.example"}, timeout=10)

    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer.headers


@pytest.mark.parametrize("path", METADATA)
@pytest.mark.parametrize("origin", [PAGE, "https://app.contoso.example"])
def test_oidc_cors_metadata_preflight_and_answer_for_any_origin(
    emulator: EmulatorClient, path: str, origin: str
) -> None:
    preflight = _preflight(emulator, path, origin, "GET", "accept-language")
    answer = emulator.http.get(f"{emulator.issuer}{path}", headers={"Origin": origin}, timeout=10)

    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert preflight.headers["Access-Control-Allow-Headers"] == "accept-language"
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in answer.headers["Vary"]
    assert answer.json()


@pytest.mark.parametrize(("path", "requested"), [
    ("/token", "content-type,authorization,x-ms-client-request-id"),
    ("/jwks", "content-type,authorization"),
])
def test_oidc_cors_preflight_leaves_out_headers_the_issuer_does_not_take(
    emulator: EmulatorClient, path: str, requested: str
) -> None:
    answer = _preflight(emulator, path, PAGE, "POST" if path == "/token" else "GET", requested)

    assert answer.status_code == 200
    allowed = answer.headers.get("Access-Control-Allow-Headers", "")
    assert "authorization" not in allowed
    assert "x-ms-client-request-id" not in allowed


def test_oidc_cors_preflight_needs_no_credentials_and_counts_nothing(
    emulator: EmulatorClient
) -> None:
    for path in [*METADATA, "/token"]:
        assert _preflight(emulator, path, PAGE, "GET").status_code == 200
    counters = emulator.counters()

    assert all(count == 0 for name, count in counters.items() if name.startswith("oidc."))


@pytest.mark.parametrize("url", [
    "{admin}/oidc/rotate", "{admin}/identities", "{base}/msi/token", "{issuer}/unknown",
])
def test_oidc_cors_not_on_admin_managed_identity_or_unknown_paths(
    emulator: EmulatorClient, url: str
) -> None:
    """The admin API and the managed identity endpoint are for this machine's servers only."""
    target = url.format(admin=emulator.admin, issuer=emulator.issuer,
                        base=emulator.settings["ACS_ENDPOINT"].rstrip("/"))
    preflight = emulator.http.options(target, timeout=10, headers={
        "Origin": PAGE, "Access-Control-Request-Method": "POST"})

    assert preflight.status_code in (404, 405)
    assert "Access-Control-Allow-Origin" not in preflight.headers
