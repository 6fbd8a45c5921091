"""Caller authentication: Bearer JWTs from the configured OIDC issuer, checked with PyJWT.

Discovery is read once; the JWKS is kept for a bounded time and refreshed at once on an
unknown `kid` (at most once per few seconds, see `shared.signing_keys`). Every token that fails
verification, for any reason, is a 401 with one log line. When the issuer cannot be read,
callers get a fast 503 for a few seconds instead of each waiting for its own time-out.
"""

from __future__ import annotations

import json
import logging
import math
import re
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt import PyJWKClient, PyJWKClientConnectionError, PyJWKClientError

from shared.errors import Forbidden, MissingToken, Unauthenticated, UpstreamUnavailable
from shared.settings import is_loopback_host
from shared.signing_keys import IssuerKey, KeySet

logger = logging.getLogger(__name__)

# Asymmetric only: an HMAC algorithm would let anyone holding the public key sign tokens.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
# JWT NumericDate claims (RFC 7519 2): JSON numbers, never strings or booleans.
_DATE_CLAIMS = ("exp", "nbf", "iat")
_BEARER = re.compile(r"Bearer ([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*)", re.I)
MAX_TOKEN_LENGTH = 16 * 1024
# How long a failed discovery or JWKS read answers 503 at once instead of trying again.
UNAVAILABLE_SECONDS = 5.0


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
    """Validates `Authorization: Bearer <JWT>`: signature, iss, aud, exp, nbf, iat, sub, and
    the required scope when one is configured."""

    # A withdrawn signing key stops working within KEY_SET_LIFESPAN_SECONDS; a new key is
    # fetched on its first token unless a fetch happened within REFRESH_INTERVAL_SECONDS.
    KEY_SET_LIFESPAN_SECONDS = 300.0
    REFRESH_INTERVAL_SECONDS = 5.0

    def __init__(
        self,
        issuer: str,
        audiences: tuple[str, ...],
        *,
        ssl_context: ssl.SSLContext | None = None,
        leeway_seconds: int = 60,
        required_scope: str | None = None,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.audiences = audiences
        self.required_scope = required_scope
        self._ssl_context = ssl_context
        self._leeway = leeway_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._keys: KeySet | None = None
        self._lock = threading.Lock()
        self._unavailable_until = 0.0

    def _fail_fast(self) -> None:
        if self._clock() < self._unavailable_until:
            raise UpstreamUnavailable(
                "The identity provider is unavailable.", retry_after=int(UNAVAILABLE_SECONDS)
            )

    def _unavailable(self, message: str) -> UpstreamUnavailable:
        self._unavailable_until = self._clock() + UNAVAILABLE_SECONDS
        return UpstreamUnavailable(message, retry_after=int(UNAVAILABLE_SECONDS))

    def _key_set(self) -> KeySet:
        if self._keys is None:
            with self._lock:
                self._fail_fast()
                if self._keys is None:
                    client = PyJWKClient(
                        self._discover_jwks_uri(), cache_jwk_set=False, timeout=self._timeout,
                        ssl_context=self._ssl_context,
                    )
                    self._keys = KeySet(
                        client, lifespan=self.KEY_SET_LIFESPAN_SECONDS,
                        refresh_interval=self.REFRESH_INTERVAL_SECONDS, clock=self._clock,
                    )
        return self._keys

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
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            raise _rejected("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _rejected("no key id")
        key = self._signing_key(kid)
        if not key.fits(alg):
            raise _rejected("key type does not match the token's algorithm")
        claims = self._verified_claims(token, key, alg)
        for name in _DATE_CLAIMS:
            value = claims.get(name)
            if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)
                                   or not math.isfinite(value)):
                raise _rejected(f"{name} is not a number")
        if self.required_scope is not None:
            scp = claims.get("scp")
            if not isinstance(scp, str) or self.required_scope not in scp.split(" "):
                raise _rejected("required scope missing")
        return _caller(claims)

    def _verified_claims(self, token: str, key: IssuerKey, alg: str) -> dict[str, Any]:
        """The verification boundary: whatever PyJWT or the cryptography below it raises for
        this token is a refusal of the token, never a server error."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.jwk.key,
                algorithms=[alg],
                audience=list(self.audiences),
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise _rejected("invalid claims or signature", exc) from exc
        except (TypeError, ValueError) as exc:
            # A key PyJWT cannot use with this algorithm (it raises TypeError for some).
            raise _rejected("signature could not be verified with the key", exc) from exc
        return claims

    def _signing_key(self, kid: str) -> IssuerKey:
        keys = self._key_set()
        if not keys.loaded:
            self._fail_fast()  # only a fetch would help, and one just failed
        try:
            key = keys.get(kid)
        except PyJWKClientConnectionError as exc:
            logger.error("The issuer's JWKS could not be fetched")
            raise self._unavailable("The identity provider's keys could not be read.") from exc
        except (PyJWKClientError, jwt.PyJWTError, ValueError) as exc:
            logger.error("The issuer's JWKS is unusable: %s", type(exc).__name__)
            raise self._unavailable("The identity provider's keys could not be read.") from exc
        if key is None:
            raise _rejected("unknown signing key")
        return key


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Discovery is read from AUTH_ISSUER itself, never from wherever a redirect points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise MissingToken("A Bearer token is required in the Authorization header.")
    if len(authorization) > MAX_TOKEN_LENGTH:
        raise _rejected("token too long")
    # Optional spaces around a field value are not part of it (RFC 9110 5.5); nothing else is.
    match = _BEARER.fullmatch(authorization.strip(" \t"))
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
