"""How a dependency's failures become typed errors: one declarative status map per dependency
(as azure-core's `map_error`) and one fail-fast cooldown, shared by ACS, Storage and the issuer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass

from shared.errors import ServiceError, UpstreamUnavailable

logger = logging.getLogger(__name__)

# Told to callers when a dependency is down and names no Retry-After of its own.
RETRY_AFTER_SECONDS = 5
# How long after a dependency failed calls answer 503 at once instead of each waiting for its
# own time-out (and piling onto a dependency that is already struggling).
COOLDOWN_SECONDS = 5.0
# Statuses that say "not now": throttled, or the dependency failed on its side.
THROTTLED = (429,)
SERVER_ERRORS = range(500, 600)
CREDENTIAL_REFUSED = (401, 403)

Clock = Callable[[], float]


@dataclass(frozen=True)
class Mapped:
    """What one class of statuses becomes: the error, the caller's detail and, for operators
    only, a hint that is logged (never shown to the caller)."""

    error: type[ServiceError]
    detail: str
    hint: str | None = None


class StatusMap:
    """Rules `(statuses, Mapped)` tried in order; the first whose statuses hold the code wins."""

    def __init__(self, name: str, rules: Sequence[tuple[Container[int], Mapped]]) -> None:
        self.name = name
        self.rules = tuple(rules)

    def error_for(self, status: int, *, retry_after: int = RETRY_AFTER_SECONDS
                  ) -> ServiceError | None:
        """The typed error for `status`, or None when no rule covers it."""
        for statuses, mapped in self.rules:
            if status in statuses:
                if mapped.hint:
                    logger.error("%s answered %s: %s", self.name, status, mapped.hint)
                wait = retry_after if issubclass(mapped.error, UpstreamUnavailable) else None
                return mapped.error(mapped.detail, retry_after=wait)
        return None


def parse_retry_after(raw: str | None) -> int:
    """A Retry-After in whole seconds, clamped to 1 s .. 1 h; the default when absent or a date."""
    try:
        return max(1, min(int(float(raw or "")), 3600))
    except ValueError:
        return RETRY_AFTER_SECONDS


class Cooldown:
    """After a dependency failed, `check` answers 503 at once for `seconds`.

    `trip` starts the cooldown and returns the error to raise, so the first failing caller and
    every caller inside the cooldown see the same answer.
    """

    def __init__(self, detail: str, *, seconds: float = COOLDOWN_SECONDS,
                 clock: Clock = time.monotonic) -> None:
        self.detail = detail
        self.seconds = seconds
        self._clock = clock
        self._until = 0.0
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._clock() < self._until

    def check(self) -> None:
        if self.active:
            raise self._error(self.detail)

    def trip(self, detail: str | None = None) -> UpstreamUnavailable:
        with self._lock:
            self._until = self._clock() + self.seconds
        return self._error(detail or self.detail)

    def _error(self, detail: str) -> UpstreamUnavailable:
        return UpstreamUnavailable(detail, retry_after=max(1, round(self.seconds)))
