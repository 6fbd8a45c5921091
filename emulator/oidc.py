"""The OIDC issuer of app-user tokens: discovery, JWKS, a development-only mint endpoint,
and key rotation with rollover."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from emulator.context import Context
from emulator.web import Request, Response, bad_request, expect_type, route

logger = logging.getLogger(__name__)

DEFAULT_TTL = 3600


def discovery(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    issuer = ctx.resource.issuer
    return Response(200, {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks",
        "token_endpoint": f"{issuer}/token",
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "claims_supported": ["iss", "sub", "aud", "iat", "nbf", "exp", "roles"],
    })


def jwks(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    with ctx.state.lock:
        keys = [key.jwk() for key in reversed(ctx.state.oidc_keys)]
    # Short caching hint, like Entra ID: clients should not fetch per request.
    return Response(200, {"keys": keys}, {"Cache-Control": "max-age=300"})


def mint(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    """Body `{"sub", "roles"?, "aud"?, "ttl"?, "claims"?}`. `claims` is merged last and a
    null value there removes that claim: `"claims": {"sub": null}` mints a token without sub."""
    body = request.json_object()
    sub = body.get("sub")
    if not isinstance(sub, str) or not sub:
        raise bad_request("'sub' is required (to mint a token without it, also pass "
                          "'claims': {'sub': null}).", "ValidationError")
    ttl = expect_type(body.get("ttl", DEFAULT_TTL), int, "ttl")
    aud = body.get("aud", ctx.resource.audience)
    if not (isinstance(aud, str) or (isinstance(aud, list)
                                     and all(isinstance(item, str) for item in aud))):
        raise bad_request("'aud' must be a string or an array of strings.", "ValidationError")
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ctx.resource.issuer, "sub": sub, "aud": aud, "iat": now,
                              "nbf": min(now, now + ttl), "exp": now + ttl}
    roles = body.get("roles")
    if roles is not None:
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise bad_request("'roles' must be an array of strings.", "ValidationError")
        claims["roles"] = roles
    extra = expect_type(body.get("claims", {}), dict, "claims")
    for name, value in extra.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    try:
        token = ctx.state.signing_key().sign(claims)
    except (TypeError, ValueError) as exc:
        # PyJWT refuses some claim types itself (an `iss` that is not a string).
        raise bad_request(f"The claims cannot be signed: {exc}", "ValidationError") from None
    return Response(200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl})


def rotate(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    body = request.json_object(allow_empty=True)
    retain = expect_type(body.get("retainPrevious", True), bool, "retainPrevious")
    key = ctx.state.rotate_oidc_key(retain_previous=retain)
    with ctx.state.lock:
        published = [item.kid for item in ctx.state.oidc_keys]
    return Response(200, {"kid": key.kid, "published": published})


ROUTES = [
    route("GET", "/oidc/.well-known/openid-configuration", discovery, "oidc.discovery"),
    route("GET", "/oidc/jwks", jwks, "oidc.jwks"),
    route("POST", "/oidc/token", mint, "oidc.mint"),
]
ADMIN_ROUTES = [route("POST", "/admin/oidc/rotate", rotate)]
