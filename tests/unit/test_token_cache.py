"""SingleFlightCredential: one fetch for many threads, refresh ahead of expiry, failure hold."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from shared.clients.token_cache import (
    FAILURE_HOLD_SECONDS,
    REFRESH_MARGIN_SECONDS,
    SingleFlightCredential,
)

SCOPE = "https://communication.azure.com//.default"


class CountingCredential:
    """Stands in for the managed identity endpoint's client: counts fetches, can be held."""

    def __init__(self, now: list[float], lifetime: float = 3600) -> None:
        self.now = now
        self.lifetime = lifetime
        self.calls: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.release.set()
        self.fail = False

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls.append(kwargs)
        assert self.release.wait(10)
        if self.fail:
            raise ClientAuthenticationError("endpoint down")
        return AccessToken(f"t{len(self.calls)}", int(self.now[0] + self.lifetime))


def test_single_flight_concurrent_first_calls_one_fetch() -> None:
    now = [1000.0]
    inner = CountingCredential(now)
    credential = SingleFlightCredential(inner, clock=lambda: now[0])
    arrived = threading.Semaphore(0)
    tokens: list[str] = []

    def first_call() -> None:
        arrived.release()
        tokens.append(credential.get_token(SCOPE).token)

    inner.release.clear()  # the one fetch hangs until all 32 threads are inside get_token
    threads = [threading.Thread(target=first_call) for _ in range(32)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert arrived.acquire(timeout=10)
    inner.release.set()
    for thread in threads:
        thread.join()

    assert len(inner.calls) == 1
    assert tokens == ["t1"] * 32


def test_single_flight_refreshes_inside_margin_only() -> None:
    now = [1000.0]
    inner = CountingCredential(now)
    credential = SingleFlightCredential(inner, clock=lambda: now[0])

    assert credential.get_token(SCOPE).token == "t1"
    now[0] += 3600 - REFRESH_MARGIN_SECONDS - 1
    assert credential.get_token(SCOPE).token == "t1"
    now[0] += 2
    assert credential.get_token(SCOPE).token == "t2"


def test_single_flight_failure_held_briefly_then_retried() -> None:
    now = [1000.0]
    inner = CountingCredential(now)
    inner.fail = True
    credential = SingleFlightCredential(inner, clock=lambda: now[0])

    for _ in range(3):
        with pytest.raises(ClientAuthenticationError):
            credential.get_token(SCOPE)
    assert len(inner.calls) == 1
    now[0] += FAILURE_HOLD_SECONDS
    inner.fail = False
    assert credential.get_token(SCOPE).token == "t2"


def test_single_flight_claims_challenge_goes_to_inner_each_time() -> None:
    now = [1000.0]
    inner = CountingCredential(now)
    credential = SingleFlightCredential(inner, clock=lambda: now[0])

    credential.get_token(SCOPE, claims='{"access_token":{}}')
    credential.get_token(SCOPE, claims='{"access_token":{}}')

    assert len(inner.calls) == 2
