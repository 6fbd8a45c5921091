"""The ACS Identity API: create and delete identities, issue and revoke user access tokens,
and check those tokens for the admin API. Teams token exchange is deliberately not emulated."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt

from emulator.context import Context
from emulator.state import IdentityRecord
from emulator.web import AcsError, Request, Response, expect_type, route

logger = logging.getLogger(__name__)

API_VERSIONS = frozenset({"2021-03-07", "2022-06-01", "2022-10-01", "2023-10-01"})
SCOPES = ("chat", "voip", "chat.join", "chat.join.limited", "voip.join")
# ACS encodes scopes as a bit field in `scp`; the exact bits are not public, these are stable.
_SCOPE_BITS = {"chat": 1 << 8, "voip": 1 << 9, "chat.join": 1 << 10,
               "chat.join.limited": 1 << 11, "voip.join": 1 << 12}
DEFAULT_MINUTES = 1440
MIN_MINUTES, MAX_MINUTES = 60, 1440


def _validation(message: str) -> AcsError:
    return AcsError(400, "ValidationError", message)


def _not_owned(identity_id: str) -> AcsError:
    return AcsError(401, "IdentityNotOwned",
                    f"The identity '{identity_id}' does not exist in this resource or was deleted.")


def _scopes(value: Any, name: str, *, allow_empty: bool) -> list[str]:
    if value is None:
        if allow_empty:
            return []
        raise _validation(f"'{name}' is required and must list at least one scope.")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _validation(f"'{name}' must be an array of scope names.")
    if not value and not allow_empty:
        raise _validation(f"'{name}' must list at least one scope.")
    unknown = [scope for scope in value if scope not in SCOPES]
    if unknown:
        raise _validation(f"Unknown scope(s) {unknown}; valid scopes are {list(SCOPES)}.")
    return list(dict.fromkeys(value))


def _minutes(value: Any) -> int:
    if value is None:
        return DEFAULT_MINUTES
    minutes: int = expect_type(value, int, "expiresInMinutes")
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise _validation(f"'expiresInMinutes' must be within [{MIN_MINUTES}, {MAX_MINUTES}].")
    return minutes


def _claims(ctx: Context, identity_id: str, scopes: list[str], minutes: int | float
            ) -> tuple[dict[str, Any], dt.datetime]:
    """A user token's claims and expiry; the caller holds the state lock and has checked the
    identity. Signing happens after the lock is released: it is the slow part."""
    record = ctx.state.identities[identity_id]
    now = time.time()
    if record.tokens_revoked_at is not None:
        # Order tokens strictly after a revocation even if the clock has not moved on.
        now = max(now, record.tokens_revoked_at + 1e-6)
    expires = dt.datetime.fromtimestamp(now + minutes * 60, dt.UTC)
    claims = {
        "skypeid": identity_id.removeprefix("8:"),
        "scp": sum(_SCOPE_BITS[scope] for scope in scopes),
        # `csi` is the creation time; sub-second precision lets revocation cut cleanly.
        "csi": f"{now:.6f}",
        "acsScope": ",".join(scopes),
        "resourceId": ctx.resource.resource_id,
        "resourceLocation": "emulator",
        "ver": "1.0",
        "iat": int(now),
        "exp": int(expires.timestamp()),
    }
    record.tokens_issued += 1
    return claims, expires


def _signed(ctx: Context, claims: dict[str, Any], expires: dt.datetime) -> dict[str, str]:
    return {"token": ctx.resource.acs_key.sign(claims),
            "expiresOn": expires.isoformat(timespec="microseconds")}


def _owned(ctx: Context, identity_id: str) -> None:
    """The identity exists here and is not deleted; the caller holds the state lock."""
    record = ctx.state.identities.get(identity_id)
    if record is None or record.deleted_at is not None:
        raise _not_owned(identity_id)


def create(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    body = request.json_object(allow_empty=True)
    scopes = _scopes(body.get("createTokenWithScopes"), "createTokenWithScopes",
                     allow_empty=True)
    minutes = _minutes(body.get("expiresInMinutes"))
    identity_id = f"8:acs:{ctx.resource.resource_id}_{uuid.uuid4()}"
    result: dict[str, Any] = {"identity": {"id": identity_id}}
    with ctx.state.lock:
        ctx.state.identities[identity_id] = IdentityRecord(identity_id, time.time())
        token = _claims(ctx, identity_id, scopes, minutes) if scopes else None
    if token is not None:
        result["accessToken"] = _signed(ctx, *token)
    return Response(201, result)


def delete(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    with ctx.state.lock:
        _owned(ctx, params["id"])
        ctx.state.identities[params["id"]].deleted_at = time.time()
    return Response(204)


def issue_token(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    body = request.json_object()
    scopes = _scopes(body.get("scopes"), "scopes", allow_empty=False)
    minutes = _minutes(body.get("expiresInMinutes"))
    with ctx.state.lock:
        _owned(ctx, params["id"])
        claims, expires = _claims(ctx, params["id"], scopes, minutes)
    return Response(200, _signed(ctx, claims, expires))


def revoke_tokens(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    with ctx.state.lock:
        _owned(ctx, params["id"])
        ctx.state.identities[params["id"]].tokens_revoked_at = time.time()
    return Response(204)


def exchange_teams_token(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    body = request.json_object()
    for name in ("token", "appId", "userId"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise _validation(f"'{name}' is required and must be a non-empty string.")
    # 501, not 4xx: the request is well formed, the emulator simply has no Teams or Entra ID.
    raise AcsError(501, "NotImplementedInEmulator",
                   "Teams user token exchange needs Microsoft Entra ID and Teams; the offline "
                   "emulator does not emulate it.")


def verify_user_token(ctx: Context, token: str) -> tuple[bool, str | None]:
    """Whether ACS would still accept this user token: signature, expiry, identity, revocation."""
    claims, reason = user_token_claims(ctx, token)
    return claims is not None, reason


def user_token_claims(ctx: Context, token: str) -> tuple[dict[str, Any] | None, str | None]:
    """The claims of a user token ACS would still accept, or None and the reason it would not.
    The reason names a check, never token content."""
    try:
        claims = ctx.resource.acs_key.decode(token, options={"require": ["exp", "skypeid"]})
    except jwt.ExpiredSignatureError:
        return None, "expired"
    except jwt.InvalidTokenError:
        return None, "invalid signature or malformed token"
    identity_id = f"8:{claims['skypeid']}"
    with ctx.state.lock:
        record = ctx.state.identities.get(identity_id)
        if record is None:
            return None, "unknown identity"
        if record.deleted_at is not None:
            return None, "identity deleted"
        try:
            created = float(claims.get("csi", claims.get("iat", 0)))
        except (TypeError, ValueError):
            return None, "malformed token"
        if record.tokens_revoked_at is not None and created <= record.tokens_revoked_at:
            return None, "revoked"
    return claims, None


def token_scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    scopes = claims.get("acsScope")
    return frozenset(scopes.split(",")) if isinstance(scopes, str) and scopes else frozenset()


def issue_for_admin(ctx: Context, identity_id: str, scopes: list[str], seconds: int
                    ) -> dict[str, str]:
    """A user token with any lifetime (negative: already expired), for tests of expiry and
    proactive refresh that the Identity API's 60-minute minimum rules out."""
    with ctx.state.lock:
        _owned(ctx, identity_id)
        claims, expires = _claims(ctx, identity_id, scopes, seconds / 60)
    return _signed(ctx, claims, expires)


def admin_scopes(value: Any) -> list[str]:
    return _scopes(value, "scopes", allow_empty=False)


ROUTES = [
    route("POST", "/identities", create, "identity.create", API_VERSIONS),
    route("DELETE", "/identities/{id}", delete, "identity.delete", API_VERSIONS),
    route("POST", "/identities/{id}/:issueAccessToken", issue_token, "identity.issueToken",
          API_VERSIONS),
    route("POST", "/identities/{id}/:revokeAccessTokens", revoke_tokens,
          "identity.revokeTokens", API_VERSIONS),
    route("POST", "/teamsUser/:exchangeAccessToken", exchange_teams_token,
          "identity.exchangeTeamsToken", API_VERSIONS),
]
