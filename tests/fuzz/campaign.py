"""The HTTP fuzz run: each selected operation's hypothesis run in a thread of a small pool, so
one operation's requests are generated while another's request waits on the service. The
requests themselves go out one at a time (a lock around send and side-effect reads), so the
reads after an answer see what that request did and nothing else.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait

from hypothesis import given

from tests.fuzz.endpoints import Endpoint
from tests.fuzz.probe import TALLY, FuzzRequest, Probe
from tests.fuzz.profiles import Profile
from tests.fuzz.tokens import Credentials
from tests.fuzz.traffic import requests_for

# Two runs at a time: one generating while the other waits on the service. More only adds
# threads contending for the interpreter (generation is pure Python).
WORKERS = 2


class HttpRun:
    """Fuzzes `selected` in the background; `futures` has each operation's request count."""

    def __init__(self, probe: Probe, credentials: Credentials, profile: Profile,
                 selected: list[Endpoint]) -> None:
        self.probe = probe
        self.credentials = credentials
        self.profile = profile
        self._sending = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="fuzz-http")
        self.futures: dict[str, Future[int]] = {
            endpoint.operation_id: self._pool.submit(self._fuzz, endpoint)
            for endpoint in selected}

    def _fuzz(self, endpoint: Endpoint) -> int:
        sent_before = TALLY.sent[endpoint.name]
        started = time.perf_counter()

        @self.profile.settings
        @given(requests_for(endpoint, self.credentials))
        def exchange(request: FuzzRequest) -> None:
            with self._sending:
                self.probe.send(endpoint, request)

        try:
            exchange()
        finally:
            TALLY.seconds[endpoint.name] += time.perf_counter() - started
        return TALLY.sent[endpoint.name] - sent_before

    def finish(self) -> None:
        """Wait for every operation's run (outcomes stay in `futures`)."""
        wait(self.futures.values())
        self._pool.shutdown(wait=True)
