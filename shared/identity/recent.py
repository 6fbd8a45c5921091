"""The identities this worker process recently issued tokens for: caller -> ACS identity id.

A returning user's `POST /api/token` then goes straight to ACS: no identity map read on the
request path (one Table round trip, and about half the worker's CPU per warm call, saved).

Why a kept entry that went stale is safe: outside hand edits of the table, a mapping only
stops naming an identity once that identity is gone from ACS. A delete removes the ACS identity
before the mapping, and a mapping is swapped only for an identity ACS refused as gone. So an
entry another instance made stale is refused by ACS (`IdentityGone`); the entry is then dropped
and the map read as if there were no entry. The one change ACS cannot reveal, a mapping removed
or re-pointed by hand while its identity lives on, is bounded by the entry's lifetime
(`IDENTITY_CACHE_SECONDS`): an entry is used for at most that long after it was stored.

Entries are keyed by a SHA-256 of the caller's key, so no issuer or subject is held here and
every entry has the same size. Every entry lives equally long, so the order they were stored in
is the order they expire in: each use drops the expired ones from the front. At most
`max_entries` are kept, the oldest dropped first.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from shared.auth.caller import Caller

# About 3.4 MB when full (measured in tests/unit/test_recent_identities.py).
MAX_ENTRIES = 10_000


def _key(caller: Caller) -> bytes:
    return hashlib.sha256(caller.key.encode()).digest()


class RecentIdentities:
    """Thread-safe, time-bounded, size-bounded; `ttl_seconds` 0 keeps nothing."""

    def __init__(self, ttl_seconds: float, *, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        # key -> (expiry, identity id), in the order stored, so in the order they expire.
        self._entries: OrderedDict[bytes, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, caller: Caller) -> str | None:
        if self._ttl <= 0:
            return None
        key = _key(caller)
        with self._lock:
            self._drop_expired()
            entry = self._entries.get(key)
            return None if entry is None else entry[1]

    def put(self, caller: Caller, identity_id: str) -> None:
        if self._ttl <= 0:
            return
        key = _key(caller)
        with self._lock:
            self._drop_expired()
            self._entries[key] = (self._clock() + self._ttl, identity_id)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def forget(self, caller: Caller) -> None:
        key = _key(caller)
        with self._lock:
            self._entries.pop(key, None)

    def _drop_expired(self) -> None:
        now = self._clock()
        while self._entries:
            expiry, _ = next(iter(self._entries.values()))
            if expiry > now:
                return
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
