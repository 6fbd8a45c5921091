"""Test-side client for the emulator's admin API and OIDC mint endpoint."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import azure.functions as func
import requests


class EmulatorClient:
    """Talks to a running emulator using the settings it published."""

    def __init__(self, settings: dict[str, str]) -> None:
        self.settings = settings
        self.admin = settings["EMULATOR_ADMIN"].rstrip("/")
        self.issuer = settings["AUTH_ISSUER"].rstrip("/")
        self.http = requests.Session()
        # An inherited REQUESTS_CA_BUNDLE would override `verify`: trust this emulator's CA only.
        self.http.trust_env = False
        self.http.verify = settings["REQUESTS_CA_BUNDLE"]

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.admin}{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        self._admin("POST", "/reset")

    def fault(self, operation: str, status: int, count: int = 1, **extra: Any) -> None:
        self._admin("POST", "/faults", {"operation": operation, "status": status,
                                        "count": count, **extra})

    def counters(self) -> dict[str, int]:
        result: dict[str, int] = self._admin("GET", "/counters")
        return result

    def sms(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._admin("GET", "/sms")
        return result

    def identities(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._admin("GET", "/identities")
        return result

    def verify_token(self, token: str) -> dict[str, Any]:
        """The emulator's verdict on an ACS user access token (signature, expiry, revocation)."""
        result: dict[str, Any] = self._admin("POST", "/tokens/verify", {"token": token})
        return result

    def delete_identity(self, identity_id: str) -> None:
        """Delete an ACS identity behind the service's back, as an operator could."""
        response = self.http.delete(
            f"{self.settings['ACS_ENDPOINT']}/identities/{quote(identity_id, safe=':')}",
            params={"api-version": "2023-10-01"},
            headers={"Authorization": f"Bearer {self.managed_identity_token()}"},
            timeout=10,
        )
        assert response.status_code == 204, response.text

    def managed_identity_token(self, **options: Any) -> str:
        """A bearer token from the emulator's Entra stand-in (admin; for negative tests too)."""
        token: str = self._admin("POST", "/mi/token", options)["access_token"]
        return token

    def assign(self, client_id: str) -> None:
        """Give a user-assigned managed identity a role on the emulated ACS resource."""
        self._admin("POST", "/assignments", {"clientId": client_id})

    def rotate_oidc_key(self, *, retain_previous: bool = True) -> list[str]:
        """Sign with a new key; without `retain_previous` the old one is withdrawn from the
        JWKS. Returns the key ids published afterwards."""
        published: list[str] = self._admin(
            "POST", "/oidc/rotate", {"retainPrevious": retain_previous})["published"]
        return published

    def mint(self, sub: str = "user-1", **claims: Any) -> str:
        """Mint an app-user token; keyword arguments map to roles, aud, ttl and claims."""
        response = self.http.post(f"{self.issuer}/token", json={"sub": sub, **claims}, timeout=10)
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token


def http_request(
    method: str,
    route: str,
    *,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> func.HttpRequest:
    """A request as the Functions host hands it to `main` (JSON body unless `raw`)."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers.setdefault("Authorization", f"Bearer {token}")
    if raw is None and body is not None:
        raw = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    return func.HttpRequest(
        method=method,
        url=f"http://localhost:7071/api/{route}",
        headers=all_headers,
        params={},
        route_params={},
        body=raw or b"",
    )


def json_body(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())
