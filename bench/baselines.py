"""The honest baselines IssueToken is measured against, each doing the same work for a returning
user (verify the caller's JWT, read the identity map, ask ACS for a token):

- `PlainClient`, the floor: one keep-alive `requests.Session`, no SDK pipeline, the managed
  identity token and the signing key fetched once, the Table read signed by hand (SharedKeyLite
  with Azurite's public development key: a benchmark against the local stack only);
- `bench.sdk_handler.SdkHandler`, the fair peer: the official SDKs
  (azure-communication-identity, azure-data-tables, PyJWT's JWKS client) as module-level
  clients, the pattern Microsoft recommends for Functions;
- `tutorial_handler`, the naive one: the per-request pattern of Microsoft's trusted-service
  tutorial (a new identity client per request, a new identity and token per call), here with a
  managed identity instead of the tutorial's connection string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

import jwt
import requests
from azure.communication.identity import CommunicationIdentityClient
from azure.identity import ManagedIdentityCredential

from bench.sdk_handler import ALGORITHMS, SCOPES
from shared.clients.acs import ACS_SCOPE, IDENTITY_API_VERSION
from shared.config.settings import AZURITE_ACCOUNT, AZURITE_KEY


def _jwks_uri(session: requests.Session, issuer: str) -> str:
    discovery = session.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=10)
    return str(discovery.json()["jwks_uri"])


class PlainClient:
    """The same three steps on one keep-alive session, nothing else."""

    def __init__(self, settings: dict[str, str], table: str, partition: str, row: str) -> None:
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = settings["REQUESTS_CA_BUNDLE"]
        self.settings = settings
        self.audience = settings["AUTH_AUDIENCE"]
        self.issuer = settings["AUTH_ISSUER"]
        keys = self.session.get(_jwks_uri(self.session, self.issuer), timeout=10).json()
        self.keys = {k["kid"]: jwt.PyJWK(k).key for k in keys["keys"]}
        mi = self.session.get(settings["IDENTITY_ENDPOINT"], timeout=10, params={
            "resource": ACS_SCOPE.removesuffix("/.default"), "api-version": "2019-08-01",
        }, headers={"X-IDENTITY-HEADER": settings["IDENTITY_HEADER"]})
        self.acs_token = mi.json()["access_token"]
        connection = dict(part.split("=", 1) for part in
                          settings["IDENTITY_TABLE_ENDPOINT"].split(";") if part)
        self.table_url = (f"{connection['TableEndpoint'].rstrip('/')}/{table}"
                          f"(PartitionKey='{partition}',RowKey='{row}')")
        self.table_resource = (f"/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{table}"
                               f"(PartitionKey='{partition}',RowKey='{row}')")

    def _table_headers(self) -> dict[str, str]:
        date = formatdate(usegmt=True)
        signed = hmac.new(base64.b64decode(AZURITE_KEY),
                          f"{date}\n{self.table_resource}".encode(), hashlib.sha256).digest()
        return {"x-ms-date": date, "x-ms-version": "2019-02-02",
                "Accept": "application/json;odata=nometadata",
                "Authorization": f"SharedKeyLite {AZURITE_ACCOUNT}:"
                                 f"{base64.b64encode(signed).decode()}"}

    def issue(self, authorization: str) -> dict[str, Any]:
        token = authorization.removeprefix("Bearer ")
        kid = jwt.get_unverified_header(token)["kid"]
        claims = jwt.decode(token, self.keys[kid], algorithms=ALGORITHMS,
                            audience=self.audience, issuer=self.issuer)
        row = self.session.get(self.table_url, headers=self._table_headers(), timeout=10)
        row.raise_for_status()
        identity = row.json()["CommunicationUserId"]
        answer = self.session.post(
            f"{self.settings['ACS_ENDPOINT']}/identities/{quote(identity, safe=':')}"
            "/:issueAccessToken", params={"api-version": IDENTITY_API_VERSION},
            json={"scopes": SCOPES, "expiresInMinutes": 60}, timeout=10,
            headers={"Authorization": f"Bearer {self.acs_token}"})
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return {**body, "communicationUserId": identity, "sub": claims["sub"]}


def tutorial_handler(settings: dict[str, str]) -> dict[str, Any]:
    """Per request: a new credential and identity client, a new identity and its token."""
    client = CommunicationIdentityClient(settings["ACS_ENDPOINT"], ManagedIdentityCredential(),
                                         connection_verify=settings["REQUESTS_CA_BUNDLE"])
    user, access = client.create_user_and_token(SCOPES)
    return {"token": access.token, "communicationUserId": user.properties["id"]}


def response_json(body: dict[str, Any]) -> str:
    """What each handler would answer: the same serialization cost for all of them."""
    return json.dumps({k: body[k] for k in ("token", "communicationUserId")})
