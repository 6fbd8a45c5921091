"""Caller authentication: Bearer JWTs from the configured OIDC issuer, checked with PyJWT.

Discovery is read once; the JWKS is cached by PyJWT's client, and an unknown `kid` forces at
most one refresh per cooldown, so a flood of forged key ids cannot hammer the issuer. When
the issuer cannot be read, callers get a fast 503 for a few seconds instead of each waiting
for its own time-out.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt import PyJWKClient, PyJWKClientConnectionError, PyJWKClientError

from shared.dependency import Cooldown
from shared.errors import Forbidden, MissingToken, Unauthenticated, UpstreamUnavailable
from shared.settings import is_loopback_host

logger = logging.getLogger(__name__)

# Asymmetric only: an HMAC algorithm would let anyone holding the public key sign tokens.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_BEARER = re.compile(r"^Bearer ([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*)$", re.I)
MAX_TOKEN_LENGTH = 16 * 1024


@dataclass(frozen=True)
class Caller:
    """An authenticated app user or backend: issuer plus `oid` (when present) or `sub`.

    `subject` carries its claim's name (`oid:...` or `sub:...`), so one user's `sub` can never
    collide with another user's `oid`.
    """

    issuer: str
    subject: str
    roles: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.issuer}\n{self.subject}"

    def require_role(self, role: str) -> None:
        if role not in self.roles:
            raise Forbidden(f"The caller's token does not carry the app role '{role}'.")


class CallerAuthenticator:
    """Validates `Authorization: Bearer <JWT>`: signature, iss, aud, exp, nbf, iat, sub."""

    def __init__(
        self,
        issuer: str,
        audiences: tuple[str, ...],
        *,
        ssl_context: ssl.SSLContext | None = None,
        leeway_seconds: int = 60,
        jwks_lifespan_seconds: int = 3600,
        refresh_cooldown_seconds: int = 60,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.issuer = issuer
        self.audiences = audiences
        self._ssl_context = ssl_context
        self._leeway = leeway_seconds
        self._lifespan = jwks_lifespan_seconds
        self._cooldown = refresh_cooldown_seconds
        self._timeout = timeout_seconds
        self._jwks: PyJWKClient | None = None
        self._lock = threading.Lock()
        self._fetch_lock = threading.Lock()
        self._outage = Cooldown("The identity provider is unavailable.")

    def _fail_fast(self) -> None:
        self._outage.check()

    def _unavailable(self, message: str) -> UpstreamUnavailable:
        return self._outage.trip(message)

    def _jwks_client(self) -> PyJWKClient:
        if self._jwks is None:
            with self._lock:
                self._fail_fast()
                if self._jwks is None:
                    self._jwks = PyJWKClient(
                        self._discover_jwks_uri(),
                        cache_jwk_set=True,
                        lifespan=self._lifespan,
                        timeout=self._timeout,
                        ssl_context=self._ssl_context,
                        cooldown_duration=self._cooldown,
                    )
        return self._jwks

    def _discover_jwks_uri(self) -> str:
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self._ssl_context), _NoRedirects()
        )
        try:
            with opener.open(url, timeout=self._timeout) as resp:
                document: Any = json.loads(resp.read(256 * 1024))
        except (OSError, ValueError) as exc:
            logger.error("OIDC discovery failed for the configured issuer: %s", type(exc).__name__)
            raise self._unavailable("The identity provider's configuration could not be read.") \
                from exc
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            logger.error("The discovery document does not name AUTH_ISSUER as its issuer")
            raise self._unavailable("The identity provider is misconfigured.")
        jwks_uri = document.get("jwks_uri")
        parts = urlsplit(jwks_uri if isinstance(jwks_uri, str) else "")
        if not (parts.scheme == "https" or (
                parts.scheme == "http" and is_loopback_host(parts.hostname))):
            # Keys fetched over plain HTTP could be swapped by anyone on the path.
            logger.error("The issuer's discovery document has no usable https jwks_uri")
            raise self._unavailable("The identity provider is misconfigured.")
        return str(jwks_uri)

    def authenticate(self, authorization: str | None) -> Caller:
        token = _bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _rejected("malformed token", exc) from exc
        if header.get("alg") not in ALGORITHMS:
            raise _rejected("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _rejected("no key id")
        key = self._signing_key(kid)
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=list(ALGORITHMS),
                audience=list(self.audiences),
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise _rejected("invalid claims or signature", exc) from exc
        return _caller(claims)

    def _signing_key(self, kid: str) -> jwt.PyJWK:
        client = self._jwks_client()
        if client.jwk_set_cache is None or client.jwk_set_cache.get() is None:
            self._fail_fast()  # only a fetch would help, and one just failed
            # No key set yet: one thread fetches it, the others wait and read it from the cache
            # (32 concurrent first calls on a cold worker make one JWKS request, not 32).
            with self._fetch_lock:
                return self._fetch_signing_key(client, kid)
        return self._fetch_signing_key(client, kid)

    def _fetch_signing_key(self, client: PyJWKClient, kid: str) -> jwt.PyJWK:
        try:
            return client.get_signing_key(kid)
        except PyJWKClientConnectionError as exc:
            logger.error("The issuer's JWKS could not be fetched")
            raise self._unavailable("The identity provider's keys could not be read.") from exc
        except PyJWKClientError as exc:
            # PyJWT says which by message only: a key set without this kid is the caller's
            # problem; an unusable key set is the issuer's.
            if "Unable to find a signing key" in str(exc):
                raise _rejected("unknown signing key", exc) from exc
            logger.error("The issuer's JWKS is unusable: %s", exc)
            raise self._unavailable("The identity provider's keys could not be read.") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            logger.error("The issuer's JWKS is unusable: %s", type(exc).__name__)
            raise self._unavailable("The identity provider's keys could not be read.") from exc


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Discovery is read from AUTH_ISSUER itself, never from wherever a redirect points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise MissingToken("A Bearer token is required in the Authorization header.")
    if len(authorization) > MAX_TOKEN_LENGTH:
        raise _rejected("token too long")
    match = _BEARER.match(authorization.strip())
    if match is None:
        raise _rejected("not a Bearer JWT")
    return match.group(1)


def _caller(claims: dict[str, Any]) -> Caller:
    claim = "oid" if claims.get("oid") else "sub"
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise _rejected("no usable subject")
    subject = f"{claim}:{value}"
    roles = claims.get("roles", [])
    if not isinstance(roles, list):
        roles = []
    return Caller(
        issuer=str(claims["iss"]),
        subject=subject,
        roles=frozenset(r for r in roles if isinstance(r, str)),
    )


def _rejected(reason: str, exc: Exception | None = None) -> Unauthenticated:
    # The reason is logged for operators; the caller learns only that the token was refused.
    logger.info("Caller token rejected: %s%s", reason, f" ({type(exc).__name__})" if exc else "")
    return Unauthenticated("The Bearer token is not valid.")
