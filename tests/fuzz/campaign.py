"""The HTTP fuzz run, in lanes: each lane is a stack of its own (emulator, local host, tables)
with its own probe and caller credentials, and takes every other selected operation: one lane
in the test process, the other in a process of its own (tests/fuzz/lane_run.py), so the two
share neither an interpreter nor anything their side-effect reads see.

Within a lane the requests go out one at a time (a lock around send and side-effect reads), so
the reads after an answer see what that request did and nothing else. A lane runs its
operations' hypothesis runs on two threads, so one operation's requests are generated while
another's request waits on the service.
"""

from __future__ import annotations

import ast
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given

from tests.e2e.conftest import Functions
from tests.fuzz.child import ChildRun
from tests.fuzz.endpoints import Endpoint
from tests.fuzz.logs import assert_log_clean
from tests.fuzz.probe import TALLY, FuzzRequest, Probe
from tests.fuzz.profiles import Profile
from tests.fuzz.tokens import Credentials
from tests.fuzz.traffic import requests_for

# Threads per lane: one generating while the other waits on the service. More only adds
# threads contending for the interpreter (generation is pure Python).
WORKERS = 2
# The longest one operation's run may take, beyond which its test fails.
RUN_TIMEOUT_PER_REQUEST = 0.5


def _ast_parse_in_turn() -> None:
    """CPython 3.11 keeps the AST constructor's recursion depth in interpreter-wide state, so
    two threads in `ast.parse` at once can fail with "SystemError: AST constructor recursion
    depth mismatch" (python/cpython#106905; seen once in this tier's CI run on 3.11).
    Hypothesis calls `ast.parse` while it describes strategies, and a lane generates on two
    threads: before 3.12 those calls take turns."""
    parse = ast.parse
    lock = threading.Lock()

    def parse_in_turn(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return parse(*args, **kwargs)

    ast.parse = parse_in_turn


if sys.version_info < (3, 12):
    _ast_parse_in_turn()


@dataclass
class Lane:
    """A stack under test, the probe checking it and the credentials its issuer signed."""

    functions: Functions
    probe: Probe
    credentials: Credentials
    sending: threading.Lock = field(default_factory=threading.Lock)


class HttpRun:
    """Fuzzes `selected` on `lane` in the background; `futures` has each operation's run."""

    def __init__(self, lane: Lane, profile: Profile, selected: list[Endpoint]) -> None:
        self.lane = lane
        self.profile = profile
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="fuzz-http")
        self.futures: dict[str, Future[int]] = {
            endpoint.operation_id: self._pool.submit(self._fuzz, endpoint)
            for endpoint in selected}

    def _fuzz(self, endpoint: Endpoint) -> int:
        sent_before = TALLY.sent[endpoint.name]
        started = time.perf_counter()

        @self.profile.settings
        @given(requests_for(endpoint, self.lane.credentials))
        def exchange(request: FuzzRequest) -> None:
            with self.lane.sending:
                self.lane.probe.send(endpoint, request)

        try:
            exchange()
        finally:
            TALLY.seconds[endpoint.name] += time.perf_counter() - started
        return TALLY.sent[endpoint.name] - sent_before

    def finish(self) -> None:
        """Wait for every operation's run (outcomes stay in `futures`)."""
        wait(self.futures.values())
        self._pool.shutdown(wait=True)


class Campaign:
    """The local lane's run and, when more than one operation is selected, the other lane's
    process."""

    def __init__(self, local: HttpRun, remote: ChildRun | None, remote_operations: list[str]
                 ) -> None:
        self.local = local
        self.remote = remote
        self.remote_operations = frozenset(remote_operations)

    def check(self, endpoint: Endpoint) -> None:
        """Wait for `endpoint`'s run; AssertionError with its report if it failed."""
        timeout = self.local.profile.requests * RUN_TIMEOUT_PER_REQUEST
        if endpoint.operation_id in self.remote_operations:
            assert self.remote is not None
            failure = self.remote.failure(endpoint.operation_id, timeout)
            assert failure is None, failure
            return
        self.local.futures[endpoint.operation_id].result(timeout)
        # The local host runs out of process: its log gets no token and no traceback.
        assert_log_clean(self.local.lane.functions.log, 0)

    def finish(self) -> None:
        self.local.finish()
        if self.remote is not None:
            self.remote.stop()
