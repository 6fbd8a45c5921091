"""CORS for the local host, from local.settings.json's `Host.CORS` and `Host.CORSCredentials`.

Core Tools (`func start`) applies ASP.NET Core's CORS middleware with the listed origins,
any header and any method; this module answers the same way in front of the functions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

ANY_ORIGIN = "*"


class CorsConfigError(ValueError):
    """The Host section's CORS settings cannot be honoured; the message says why."""


def _normalize(origin: str) -> str:
    """Scheme and host lower-cased, as ASP.NET Core normalises configured origins."""
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc or parts.path not in ("", "/"):
        raise CorsConfigError(
            f"Host.CORS: {origin!r} is not an origin (scheme://host[:port], or *)"
        )
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise CorsConfigError(f"Host.CORSCredentials must be true or false, not {value!r}")


@dataclass(frozen=True)
class CorsPolicy:
    """Allowed origins (or any) and whether credentialed requests are allowed."""

    origins: frozenset[str]
    any_origin: bool
    credentials: bool

    @classmethod
    def from_host_section(cls, host: Mapping[str, Any]) -> CorsPolicy | None:
        """The policy for a `Host` section, or None when it lists no origins (CORS off)."""
        text = host.get("CORS")
        if text is None or str(text).strip() == "":
            return None
        listed = [item.strip() for item in str(text).split(",") if item.strip()]
        credentials = _flag(host.get("CORSCredentials", False))
        any_origin = ANY_ORIGIN in listed
        if any_origin and credentials:
            # ASP.NET Core refuses to build this policy, so func start does not start with it.
            raise CorsConfigError(
                "Host.CORS '*' cannot be combined with Host.CORSCredentials true: the CORS "
                "protocol forbids a wildcard origin with credentials; list the origins instead"
            )
        origins = frozenset(_normalize(item) for item in listed if item != ANY_ORIGIN)
        return cls(origins=origins, any_origin=any_origin, credentials=credentials)

    def _allowed_origin(self, origin: str) -> str | None:
        if self.any_origin:
            return ANY_ORIGIN
        # Request origins are compared as sent (ordinal), against the normalised list.
        return origin if origin in self.origins else None

    def _origin_headers(self, origin: str) -> list[tuple[str, str]]:
        allowed = self._allowed_origin(origin)
        if allowed is None:
            return []
        headers = [("Access-Control-Allow-Origin", allowed)]
        if self.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        if allowed != ANY_ORIGIN:
            # The answer depends on the Origin header, so caches must key on it.
            headers.append(("Vary", "Origin"))
        return headers

    def preflight(self, headers: Mapping[str, str]) -> list[tuple[str, str]] | None:
        """Headers answering a preflight (OPTIONS with Origin and a requested method).

        `headers` are the request's, with lower-case names.
        None when the request is not a preflight. A preflight from an origin not allowed
        still ends here, with no CORS headers, so the browser refuses the actual request.
        """
        origin = headers.get("origin")
        method = headers.get("access-control-request-method")
        if not origin or not method:
            return None
        answer = self._origin_headers(origin)
        if not answer:
            logger.info("CORS preflight refused for origin %s", origin)
            return []
        # Any method and any header: the requested ones are echoed back.
        answer.append(("Access-Control-Allow-Methods", method.strip()))
        requested = headers.get("access-control-request-headers", "").strip()
        if requested:
            answer.append(("Access-Control-Allow-Headers", requested))
        return answer

    def response_headers(self, headers: Mapping[str, str]) -> list[tuple[str, str]]:
        """Headers to add to an actual response for the request's Origin (none if refused).

        `headers` are the request's, with lower-case names.
        """
        origin = headers.get("origin")
        return self._origin_headers(origin) if origin else []
