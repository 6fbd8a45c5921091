"""The issuer's signing keys: fetched from its JWKS, kept for a bounded time, refreshed at once
on an unknown `kid` unless a fetch happened within the last few seconds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jwt import PyJWK, PyJWKClient, PyJWKClientError, PyJWKSet

Clock = Callable[[], float]
# The key type (and curve) each algorithm family verifies with.
_KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "RS": ("RSA", None), "PS": ("RSA", None),
    "ES256": ("EC", "P-256"), "ES384": ("EC", "P-384"), "ES512": ("EC", "P-521"),
}


@dataclass(frozen=True)
class IssuerKey:
    """One published signing key and what its JWK says it is."""

    jwk: PyJWK
    kty: Any
    crv: Any
    alg: Any

    def fits(self, alg: str) -> bool:
        """Whether this key can verify `alg`: its `kty` (and curve) fit the algorithm's
        family, and an `alg` the JWK names itself is this one."""
        kty, crv = _KEY_TYPES.get(alg, _KEY_TYPES.get(alg[:2], ("", None)))
        return (self.kty == kty and (crv is None or self.crv == crv)
                and (self.alg is None or self.alg == alg))


class KeySet:
    """Signing keys by `kid`, with two bounds (seconds on the injected monotonic `clock`):

    - `lifespan`: a fetched key set is used at most this long, so a key the issuer withdrew
      stops verifying tokens within it;
    - `refresh_interval`: an unknown `kid` fetches the set again at once, unless a fetch
      happened within this interval, so a flood of forged key ids costs the issuer about one
      fetch per interval while a newly published key is picked up on its first token.

    A failed fetch raises (PyJWT's errors) and keeps nothing new; the caller decides what the
    outage means.
    """

    def __init__(self, client: PyJWKClient, *, lifespan: float, refresh_interval: float,
                 clock: Clock) -> None:
        self._client = client
        self._lifespan = lifespan
        self._interval = refresh_interval
        self._clock = clock
        self._keys: dict[str, IssuerKey] | None = None
        self._fetched_at = 0.0
        # The last fetch for an unknown kid, failed or not: a flood of forged key ids against
        # an issuer that is down must not turn into one fetch per token either.
        self._refreshed_at: float | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether a key set within its lifespan is held (a lookup needs no fetch)."""
        return self._keys is not None and self._clock() - self._fetched_at < self._lifespan

    def get(self, kid: str) -> IssuerKey | None:
        with self._lock:
            if not self.loaded:
                self._fetch()
            assert self._keys is not None
            key = self._keys.get(kid)
            now = self._clock()
            if key is None and now - self._fetched_at >= self._interval and (
                    self._refreshed_at is None or now - self._refreshed_at >= self._interval):
                self._refreshed_at = now
                self._fetch()
                key = self._keys.get(kid)
            return key

    def _fetch(self) -> None:
        data: Any = self._client.fetch_data()
        raw = {item.get("kid"): item for item in data.get("keys", []) if isinstance(item, dict)}
        keys: dict[str, IssuerKey] = {}
        for key in PyJWKSet.from_dict(data).keys:
            jwk = raw.get(key.key_id)
            if jwk is not None and key.key_id and key.public_key_use in ("sig", None):
                keys[key.key_id] = IssuerKey(key, jwk.get("kty"), jwk.get("crv"), jwk.get("alg"))
        if not keys:
            raise PyJWKClientError("The JWKS holds no signing keys")
        self._keys = keys
        self._fetched_at = self._clock()
