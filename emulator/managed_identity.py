"""The App Service managed identity endpoint (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, API
2019-08-01) that azure-identity's ManagedIdentityCredential calls, and its token minting."""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from emulator.context import Context
from emulator.web import AcsError, Request, Response, bad_request, expect_type, route

logger = logging.getLogger(__name__)

API_VERSION = "2019-08-01"
TOKEN_TTL = 3600
# Object ids of user-assigned principals, stable per client id for the life of the process.
_OBJECT_NAMESPACE = uuid.uuid4()


def mint(ctx: Context, *, resource: str, client_id: str | None, ttl: int = TOKEN_TTL
         ) -> dict[str, Any]:
    """An Entra-style access token for the system principal, or a user-assigned one."""
    res = ctx.resource
    principal = client_id or res.system_client_id
    object_id = (res.system_object_id if principal == res.system_client_id
                 else str(uuid.uuid5(_OBJECT_NAMESPACE, principal)))
    now = int(time.time())
    claims = {
        "aud": resource, "iss": res.entra_issuer, "tid": res.tenant_id,
        "appid": principal, "oid": object_id, "sub": object_id, "idtyp": "app",
        "iat": now, "nbf": min(now, now + ttl), "exp": now + ttl,
        "xms_mirid": "/emulator/managedIdentity/" + principal,
    }
    return {
        "access_token": res.entra_key.sign(claims),
        "expires_on": str(now + ttl),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": principal,
    }


def token(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    header = request.header("x-identity-header")
    if not header:
        raise AcsError(401, "MissingIdentityHeader", "The X-IDENTITY-HEADER header is required.")
    if not hmac.compare_digest(header.encode(), ctx.resource.identity_header.encode()):
        raise AcsError(403, "InvalidIdentityHeader", "The X-IDENTITY-HEADER value is wrong.")
    version = request.query.get("api-version")
    if version != API_VERSION:
        raise bad_request(f"api-version must be {API_VERSION}.", "InvalidApiVersion")
    resource = request.query.get("resource")
    if not resource:
        raise bad_request("The 'resource' query parameter is required.")
    if "mi_res_id" in request.query or "object_id" in request.query:
        raise bad_request("The emulator selects user-assigned identities by client_id only.")
    return Response(200, mint(ctx, resource=resource, client_id=request.query.get("client_id")))


def admin_token(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    """Tests' shortcut to odd tokens: expired (negative ttl) or for another audience."""
    body = request.json_object(allow_empty=True)
    resource = expect_type(body.get("resource", "https://communication.azure.com/"), str,
                           "resource")
    ttl = expect_type(body.get("ttl", TOKEN_TTL), int, "ttl")
    client_id = body.get("clientId")
    if client_id is not None:
        expect_type(client_id, str, "clientId")
    issued = mint(ctx, resource=resource, client_id=client_id, ttl=ttl)
    return Response(200, {"access_token": issued["access_token"],
                          "expires_on": issued["expires_on"]})


ROUTES = [route("GET", "/msi/token", token, "mi.token")]
ADMIN_ROUTES = [route("POST", "/admin/mi/token", admin_token)]
