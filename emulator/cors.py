"""CORS for the surfaces browsers call directly: the Chat API (with a user access token) and the
OIDC issuer (a page's development sign-in). Preflights are answered here, and every answer on
those surfaces names the caller's origin when that origin may read it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from emulator.web import AcsError, Response
from shared.config.key_refusal import is_loopback_host

logger = logging.getLogger(__name__)

MAX_AGE = "86400"


def _any_origin(origin: str) -> bool:
    return True


def _loopback_origin(origin: str) -> bool:
    """`http(s)://localhost`, `127.0.0.0/8` or `[::1]`, any port: a page on this machine."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or "@" in parts.netloc or parts.path:
        return False
    return is_loopback_host(parts.hostname)


@dataclass(frozen=True)
class Surface:
    """What one group of paths allows a browser: origins, methods, request and response headers."""

    methods: str
    headers: frozenset[str]
    header_prefix: str | None  # a family of request headers allowed as a whole (x-ms-*)
    exposed: str | None
    origin_allowed: Callable[[str], bool]
    refusal: str = ""  # why an origin is refused, for the preflight's 403

    def allows_header(self, name: str) -> bool:
        return name in self.headers or bool(self.header_prefix and name.startswith(
            self.header_prefix))


# Any origin: a user token, not a cookie, is the credential, so no origin is privileged.
CHAT = Surface(
    methods="GET, POST, PUT, PATCH, DELETE, OPTIONS",
    # What the Azure SDKs for JavaScript send; any other x-ms-* header is allowed too.
    headers=frozenset({"authorization", "content-type", "accept", "accept-language",
                       "repeatability-request-id", "traceparent", "tracestate"}),
    header_prefix="x-ms-",
    exposed="Location, MS-CV, Retry-After, x-ms-client-request-id, Content-Length, Date",
    origin_allowed=_any_origin,
)
# Discovery and JWKS are public documents (Entra ID serves them to any origin).
OIDC_METADATA = Surface(
    methods="GET, OPTIONS",
    headers=frozenset({"accept", "accept-language"}),
    header_prefix=None,
    exposed=None,
    origin_allowed=_any_origin,
)
# The development mint endpoint hands out tokens the local service trusts, roles included:
# only pages served from this machine may read them.
OIDC_MINT = Surface(
    methods="POST, OPTIONS",
    headers=frozenset({"content-type", "accept", "accept-language"}),
    header_prefix=None,
    exposed="Retry-After",
    origin_allowed=_loopback_origin,
    refusal="The development token endpoint answers pages served from this machine only "
            "(http://localhost, http://127.0.0.1 or http://[::1], any port).",
)
OIDC_PATHS = {
    "/oidc/.well-known/openid-configuration": OIDC_METADATA,
    "/oidc/jwks": OIDC_METADATA,
    "/oidc/token": OIDC_MINT,
}


def surface(path: str) -> Surface | None:
    """The CORS surface a path belongs to; None for the surfaces meant for servers only."""
    if path == "/chat" or path.startswith("/chat/"):
        return CHAT
    return OIDC_PATHS.get(path)


def preflight(path: str, headers: Mapping[str, str]) -> Response | None:
    """The answer to `OPTIONS` on a browser surface (None elsewhere: not a CORS path).
    Requested headers outside the allowed set are left out, so the browser refuses the
    request, as it would against a real server; an origin the surface refuses gets a 403."""
    found = surface(path)
    if found is None:
        return None
    origin = headers.get("origin")
    if origin and not found.origin_allowed(origin):
        logger.info("CORS preflight refused for origin %s on %s", origin, path)
        raise AcsError(403, "OriginNotAllowed", found.refusal)
    requested = headers.get("access-control-request-headers") or ""
    names = [name.strip().lower() for name in requested.split(",") if name.strip()]
    allowed = [name for name in names if found.allows_header(name)]
    result = {"Access-Control-Allow-Methods": found.methods, "Access-Control-Max-Age": MAX_AGE,
              "Allow": found.methods}
    if allowed:
        result["Access-Control-Allow-Headers"] = ", ".join(allowed)
    return Response(200, None, result)


def response_headers(path: str, origin: str | None) -> dict[str, str]:
    """Added to every answer on a browser surface that came with an allowed Origin, errors
    included (so a page can read a 401 and refresh its token)."""
    found = surface(path)
    if not origin or found is None or not found.origin_allowed(origin):
        return {}
    result = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if found.exposed:
        result["Access-Control-Expose-Headers"] = found.exposed
    return result
