"""CORS on the repository's functions under the local host, as a browser app sees it."""

from __future__ import annotations

import requests

from tests.e2e.conftest import Functions, WebRoot


def test_e2e_cors_token_preflight_from_web_origin_allowed(
    functions: Functions, web_root: WebRoot
) -> None:
    response = requests.options(f"{functions.url}/api/token", headers={
        "Origin": web_root.origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }, timeout=10)

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == web_root.origin
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert response.headers["Access-Control-Allow-Headers"] == "authorization,content-type"


def test_e2e_cors_token_error_readable_by_allowed_origin_only(
    functions: Functions, web_root: WebRoot
) -> None:
    allowed = requests.post(
        f"{functions.url}/api/token", headers={"Origin": web_root.origin}, timeout=30
    )
    refused = requests.post(
        f"{functions.url}/api/token", headers={"Origin": "https://evil.example"}, timeout=30
    )

    # The function answers both (a browser enforces CORS); only the allowed page may read it.
    assert allowed.status_code == refused.status_code == 401
    assert allowed.headers["Content-Type"].startswith("application/problem+json")
    assert allowed.headers["Access-Control-Allow-Origin"] == web_root.origin
    assert "Access-Control-Allow-Origin" not in refused.headers
