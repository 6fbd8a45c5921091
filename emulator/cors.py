"""CORS for the Chat API, which browsers call directly with a user access token: preflights are
answered for any origin (a user token, not a cookie, is the credential, so no origin is
privileged), and every chat answer names the caller's origin and the headers it may read."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from emulator.web import Response

logger = logging.getLogger(__name__)

ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
# What the Azure SDKs for JavaScript send; any other x-ms-* header is allowed too.
ALLOWED_HEADERS = frozenset({"authorization", "content-type", "accept", "accept-language",
                             "repeatability-request-id", "traceparent", "tracestate"})
EXPOSED_HEADERS = "Location, MS-CV, Retry-After, x-ms-client-request-id, Content-Length, Date"
MAX_AGE = "86400"


def applies(path: str) -> bool:
    return path == "/chat" or path.startswith("/chat/")


def _allowed(header: str) -> bool:
    return header in ALLOWED_HEADERS or header.startswith("x-ms-")


def preflight(headers: Mapping[str, str]) -> Response:
    """The answer to `OPTIONS` on a chat path. Requested headers outside the allowed set are
    left out, so the browser refuses the request, as it would against a real server."""
    requested = headers.get("access-control-request-headers") or ""
    names = [name.strip().lower() for name in requested.split(",") if name.strip()]
    allowed = [name for name in names if _allowed(name)]
    result = {"Access-Control-Allow-Methods": ALLOWED_METHODS, "Access-Control-Max-Age": MAX_AGE,
              "Allow": ALLOWED_METHODS}
    if allowed:
        result["Access-Control-Allow-Headers"] = ", ".join(allowed)
    return Response(200, None, result)


def response_headers(path: str, origin: str | None) -> dict[str, str]:
    """Added to every answer on a chat path that came with an Origin, errors included."""
    if not origin or not applies(path):
        return {}
    return {"Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": EXPOSED_HEADERS, "Vary": "Origin"}
