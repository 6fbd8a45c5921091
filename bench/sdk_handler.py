"""The fair peer: an IssueToken handler built on the official SDKs with module-level clients.

Its own module, importing nothing of the service, so a cold start of it (bench/coldstart_bench)
pays for exactly what such a handler imports.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from typing import Any

import jwt
from azure.communication.identity import CommunicationIdentityClient, CommunicationUserIdentifier
from azure.data.tables import TableClient
from azure.identity import ManagedIdentityCredential

SCOPES = ["chat", "voip"]
ALGORITHMS = ["RS256"]


def _jwks_uri(issuer: str, context: ssl.SSLContext) -> str:
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    with urllib.request.urlopen(url, context=context, timeout=10) as answer:  # noqa: S310
        return str(json.load(answer)["jwks_uri"])


class SdkHandler:
    """Module-level official SDK clients, created once like the service's own."""

    def __init__(self, settings: dict[str, str], table: str, partition: str, row: str) -> None:
        self.settings = settings
        self.partition, self.row = partition, row
        credential = ManagedIdentityCredential()
        self.identity = CommunicationIdentityClient(settings["ACS_ENDPOINT"], credential,
                                                    connection_verify=settings["REQUESTS_CA_BUNDLE"])
        self.table = TableClient.from_connection_string(settings["IDENTITY_TABLE_ENDPOINT"],
                                                        table_name=table)
        context = ssl.create_default_context(cafile=settings["REQUESTS_CA_BUNDLE"])
        self.jwks = jwt.PyJWKClient(_jwks_uri(settings["AUTH_ISSUER"], context),
                                    ssl_context=context)

    def issue(self, authorization: str) -> dict[str, Any]:
        token = authorization.removeprefix("Bearer ")
        key = self.jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=ALGORITHMS,
                            audience=self.settings["AUTH_AUDIENCE"],
                            issuer=self.settings["AUTH_ISSUER"])
        entity = self.table.get_entity(self.partition, self.row)
        identity = str(entity["CommunicationUserId"])
        access = self.identity.get_token(CommunicationUserIdentifier(identity), SCOPES)
        return {"token": access.token, "expiresOn": str(access.expires_on),
                "communicationUserId": identity, "sub": claims["sub"]}
