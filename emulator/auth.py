"""Authentication of ACS data-plane requests, both schemes ACS accepts: HMAC-SHA256 with the
resource's access key, and Entra bearer tokens from the emulator's managed identity endpoint."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import logging
from email.utils import parsedate_to_datetime

import jwt

from emulator.context import ACS_TOKEN_AUDIENCES, Context
from emulator.web import AcsError, Request

logger = logging.getLogger(__name__)

SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"
CLOCK_SKEW = dt.timedelta(minutes=15)


def _denied(message: str) -> AcsError:
    return AcsError(401, "Denied", message)


def authenticate(ctx: Context, request: Request) -> None:
    """Pass, or raise 401 (who are you?) / 403 (not allowed on this resource)."""
    scheme, credentials = request.authorization(_denied("Authorization header is missing."))
    if scheme.upper() == "HMAC-SHA256":
        _check_hmac(ctx, request, credentials)
    elif scheme.lower() == "bearer":
        _check_bearer(ctx, credentials)
    else:
        raise _denied("Unsupported authorization scheme; use HMAC-SHA256 or Bearer.")


def content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def string_to_sign(method: str, target: str, date: str, host: str, body_hash: str) -> str:
    return f"{method.upper()}\n{target}\n{date};{host};{body_hash}"


def _check_hmac(ctx: Context, request: Request, credentials: str) -> None:
    parts = dict(part.partition("=")[::2] for part in credentials.split("&"))
    if parts.get("SignedHeaders", "").lower() != SIGNED_HEADERS:
        raise _denied(f"SignedHeaders must be '{SIGNED_HEADERS}'.")
    try:
        signature = base64.b64decode(parts.get("Signature", ""), validate=True)
    except (binascii.Error, ValueError):
        raise _denied("The signature is not valid base64.") from None
    date = request.header("x-ms-date")
    body_hash = request.header("x-ms-content-sha256")
    host = request.header("host")
    if not date or not body_hash or not host:
        raise _denied("HMAC requests need x-ms-date, x-ms-content-sha256 and Host headers.")
    if not hmac.compare_digest(body_hash, content_hash(request.body)):
        raise _denied("Request 'x-ms-content-sha256' differs from generated content hash.")
    try:
        sent = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise _denied("x-ms-date is not an RFC 1123 date.") from None
    if sent.tzinfo is None or abs(dt.datetime.now(dt.UTC) - sent) > CLOCK_SKEW:
        raise _denied("x-ms-date is more than 15 minutes away from the server time.")
    expected = hmac.digest(
        ctx.resource.access_key,
        string_to_sign(request.method, request.target, date, host, body_hash).encode("utf-8"),
        hashlib.sha256,
    )
    if not hmac.compare_digest(signature, expected):
        raise _denied("The request signature does not match; check the access key.")


def _check_bearer(ctx: Context, token: str) -> None:
    try:
        claims = ctx.resource.entra_key.decode(
            token,
            audience=list(ACS_TOKEN_AUDIENCES),
            issuer=ctx.resource.entra_issuer,
            options={"require": ["exp", "aud", "iss", "appid"]},
        )
    except jwt.InvalidTokenError as error:
        # The reason names a check (expired, audience, signature), never token content.
        raise AcsError(401, "InvalidAuthenticationToken",
                       f"The bearer token is not valid: {error}.") from None
    client_id = str(claims["appid"])
    with ctx.state.lock:
        assigned = client_id in ctx.state.assignments
    if not assigned:
        raise AcsError(403, "Forbidden",
                       f"The principal '{client_id}' has no role on this Communication "
                       "Services resource.")
