"""The identities this worker process recently issued tokens for: caller -> ACS identity id.

A returning user's `POST /api/token` then goes straight to ACS: no identity map read on the
request path (one Table round trip, and about 40% of the worker's CPU per warm call, saved).

Why a stale entry is safe: a mapping only ever stops naming an identity once that identity is
gone from ACS. A delete removes the ACS identity before the mapping, and a mapping is swapped
only for an identity ACS reported gone. So an entry another instance made stale is refused by
ACS (404, `IdentityGone`); the entry is then dropped and the map read as if there were no
entry. The one change ACS cannot reveal, an operator re-pointing a mapping by hand while the
old identity lives on, is bounded by the entry's lifetime (`IDENTITY_CACHE_SECONDS`).

Bounded: at most `max_entries` callers, the least recently used dropped first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from shared.auth.caller import Caller

# About 4.2 MB when full (measured in tests/unit/test_recent_identities.py).
MAX_ENTRIES = 10_000


class RecentIdentities:
    """Thread-safe, time-bounded, size-bounded; `ttl_seconds` 0 keeps nothing."""

    def __init__(self, ttl_seconds: float, *, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, caller: Caller) -> str | None:
        if self._ttl <= 0:
            return None
        key = caller.key
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, caller: Caller, identity_id: str) -> None:
        if self._ttl <= 0:
            return
        key = caller.key
        with self._lock:
            self._entries[key] = (self._clock() + self._ttl, identity_id)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def forget(self, caller: Caller) -> None:
        with self._lock:
            self._entries.pop(caller.key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
