"""One Entra token per scope for the whole worker process, fetched by one thread at a time.

azure-core's bearer policy caches a token per pipeline, and azure-identity's managed identity
credential has its own cache, but neither stops 32 threads that arrive together on a cold
process from each asking the managed identity endpoint. This wrapper makes that one request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ClientAuthenticationError

logger = logging.getLogger(__name__)

# Refresh this long before expiry (azure-core's bearer policy refreshes 300 s ahead too).
REFRESH_MARGIN_SECONDS = 300
# After a failed fetch, the threads that waited for it fail at once for this long instead of
# each trying the endpoint again in turn.
FAILURE_HOLD_SECONDS = 5.0


class SingleFlightCredential:
    """A TokenCredential that caches the inner credential's tokens per scope set."""

    def __init__(self, inner: TokenCredential, *, clock: Callable[[], float] = time.time
                 ) -> None:
        self._inner = inner
        self._clock = clock
        self._tokens: dict[tuple[str, ...], AccessToken] = {}
        self._failed_at: dict[tuple[str, ...], float] = {}
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._guard = threading.Lock()

    def _fresh(self, key: tuple[str, ...]) -> AccessToken | None:
        token = self._tokens.get(key)
        if token is not None and token.expires_on - REFRESH_MARGIN_SECONDS > self._clock():
            return token
        return None

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  **kwargs: Any) -> AccessToken:
        if claims or tenant_id:
            # A claims challenge or another tenant: always the inner credential's business.
            return self._inner.get_token(*scopes, claims=claims, tenant_id=tenant_id, **kwargs)
        key = tuple(sorted(scopes))
        token = self._fresh(key)
        if token is not None:
            return token
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            token = self._fresh(key)
            if token is not None:
                return token  # another thread fetched it while this one waited
            if self._clock() - self._failed_at.get(key, float("-inf")) < FAILURE_HOLD_SECONDS:
                raise ClientAuthenticationError("The last token request failed moments ago.")
            try:
                token = self._inner.get_token(*scopes, **kwargs)
            except Exception:
                self._failed_at[key] = self._clock()
                raise
            self._tokens[key] = token
            return token

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()
