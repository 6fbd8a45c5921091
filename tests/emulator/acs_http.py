"""A raw ACS REST client for the emulator tests: signs with HMAC-SHA256 exactly as the
official SDKs do, or sends a bearer token, and can get either subtly wrong on purpose."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, urlencode

import requests


def connection_key(connection_string: str) -> str:
    parts = dict(item.partition("=")[::2] for item in connection_string.split(";") if item)
    return parts["accesskey"]


def rfc1123(moment: dt.datetime | None = None) -> str:
    return format_datetime(moment or dt.datetime.now(dt.UTC), usegmt=True)


def identity_path(identity_id: str, action: str = "") -> str:
    """`/identities/{id}[/:action]` with the id percent-encoded as the SDK sends it."""
    path = f"/identities/{quote(identity_id, safe='')}"
    return f"{path}/:{action}" if action else path


class AcsHttp:
    """Requests against the emulator's ACS surface, authenticated as asked."""

    def __init__(self, settings: dict[str, str]) -> None:
        self.settings = settings
        self.endpoint = settings["ACS_ENDPOINT"].rstrip("/")
        self.host = self.endpoint.split("://", 1)[1]
        self.key = connection_key(settings["EMULATOR_CONNECTION_STRING"])
        self.http = requests.Session()
        # Without this, a REQUESTS_CA_BUNDLE in the environment would override `verify`.
        self.http.trust_env = False
        self.http.verify = settings["REQUESTS_CA_BUNDLE"]

    def mi_token(self, resource: str = "https://communication.azure.com/",
                 client_id: str | None = None) -> str:
        params = {"api-version": "2019-08-01", "resource": resource}
        if client_id:
            params["client_id"] = client_id
        response = self.http.get(self.settings["IDENTITY_ENDPOINT"], params=params, timeout=10,
                                 headers={"X-IDENTITY-HEADER": self.settings["IDENTITY_HEADER"]})
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def admin_mi_token(self, **body: Any) -> str:
        response = self.http.post(f"{self.settings['EMULATOR_ADMIN']}/mi/token", json=body,
                                  timeout=10)
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def hmac_headers(self, method: str, target: str, body: bytes, *, key: str | None = None,
                     date: str | None = None, host: str | None = None) -> dict[str, str]:
        date = date or rfc1123()
        content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
        to_sign = f"{method}\n{target}\n{date};{host or self.host};{content_hash}"
        signature = base64.b64encode(hmac.digest(base64.b64decode(key or self.key),
                                                 to_sign.encode(), hashlib.sha256)).decode()
        return {
            "x-ms-date": date,
            "x-ms-content-sha256": content_hash,
            "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
                             f"&Signature={signature}",
        }

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        api_version: str | None = "2023-10-01",
        auth: str = "hmac",
        token: str | None = None,
        key: str | None = None,
        date: str | None = None,
        sent_body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """`auth` is "hmac", "bearer" (managed identity token unless `token`) or "none".
        `sent_body` replaces the signed body on the wire, to tamper after signing."""
        target = path + (f"?{urlencode({'api-version': api_version})}" if api_version else "")
        raw = body if isinstance(body, bytes) else (
            b"" if body is None else json.dumps(body).encode())
        all_headers = {"Content-Type": "application/json"}
        if auth == "hmac":
            all_headers.update(self.hmac_headers(method, target, raw, key=key, date=date))
        elif auth == "bearer":
            all_headers["Authorization"] = f"Bearer {token or self.mi_token()}"
        all_headers.update(headers or {})
        return self.http.request(method, self.endpoint + target, data=sent_body or raw,
                                 headers=all_headers, timeout=30)

    def create_identity(self, **body: Any) -> str:
        response = self.call("POST", "/identities", body or None)
        assert response.status_code == 201, response.text
        identity_id: str = response.json()["identity"]["id"]
        return identity_id
