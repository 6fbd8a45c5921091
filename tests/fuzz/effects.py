"""What a fuzzed request may have changed: the emulator's ACS operation counters and the Table
writes the counting proxy in front of Azurite saw (tests/fuzz/table_proxy.py), read after
every request over kept-alive connections, the two reads in flight together."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from emulator.client import EmulatorClient
from tests.fuzz.table_proxy import WRITES_PATH

# Emulator counters a caller's own token check may move (key discovery); every other counter
# is an ACS operation, which no refused request may cause.
AUTH_COUNTERS = frozenset({"oidc.discovery", "oidc.jwks", "oidc.mint", "mi.token"})

State = dict[str, Any]


class Reader:
    """GET requests on one kept-alive connection, sent and answered in two steps so reads on
    several connections overlap. A connection the server closed is opened again, once."""

    def __init__(self, url: str, context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(url)
        self.base = parts.path.rstrip("/")
        self._open: Callable[[], http.client.HTTPConnection] = (
            (lambda: http.client.HTTPSConnection(parts.netloc, timeout=15, context=context))
            if parts.scheme == "https" else
            (lambda: http.client.HTTPConnection(parts.netloc, timeout=15)))
        self.connection = self._open()
        self._sent: tuple[str, dict[str, str]] | None = None

    def send(self, path: str, headers: dict[str, str] | None = None) -> None:
        self._sent = (self.base + path, headers or {})
        try:
            self.connection.request("GET", self._sent[0], headers=self._sent[1])
        except (OSError, http.client.HTTPException):
            self._reopen()

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        try:
            response = self.connection.getresponse()
        except (OSError, http.client.HTTPException):
            self._reopen()
            response = self.connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()

    def _reopen(self) -> None:
        assert self._sent is not None
        self.connection.close()
        self.connection = self._open()
        self.connection.request("GET", self._sent[0], headers=self._sent[1])


class SideEffects:
    """What a request may have changed: ACS operation counters, and Table writes per table
    (any insert, update, merge or delete Azurite carried out, seen by the service's proxy)."""

    def __init__(self, emulator: EmulatorClient, table_proxy: str) -> None:
        context = ssl.create_default_context(cafile=emulator.settings["REQUESTS_CA_BUNDLE"])
        self.counters = Reader(emulator.admin, context)
        self.writes = Reader(table_proxy)

    def snapshot(self) -> State:
        self.counters.send("/counters")
        self.writes.send(WRITES_PATH)
        status, _, body = self.counters.answer()
        assert status == 200, f"emulator counters {status}: {body[:200]!r}"
        state: State = {f"acs {name}": count for name, count in json.loads(body).items()
                        if name not in AUTH_COUNTERS}
        status, _, body = self.writes.answer()
        assert status == 200, f"table proxy {status}: {body[:200]!r}"
        state.update({f"table writes {name}": count
                      for name, count in json.loads(body).items()})
        return state


def changes(before: State, after: State) -> dict[str, str]:
    """What differs between two snapshots, said briefly."""
    return {name: f"{before.get(name, 0)} -> {after.get(name, 0)}"
            for name in sorted(before.keys() | after.keys())
            if before.get(name, 0) != after.get(name, 0)}
