"""What a fuzzed request may have changed: the emulator's ACS operation counters and the keys
of every row in the service's tables, read after every request over kept-alive connections,
the three reads in flight together."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import ssl
from collections.abc import Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from emulator.client import EmulatorClient

# Emulator counters a caller's own token check may move (key discovery); every other counter
# is an ACS operation, which no refused request may cause.
AUTH_COUNTERS = frozenset({"oidc.discovery", "oidc.jwks", "oidc.mint", "mi.token"})

State = dict[str, Any]
Rows = frozenset[tuple[str, str]]


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


class TableRows:
    """The (PartitionKey, RowKey) of every row of one table, over Table REST with the account's
    Shared Key: the SDK's pipeline parses and wraps every row, which after each of thousands
    of requests cost more than the request under test."""

    def __init__(self, connection: str, table: str) -> None:
        parts = dict(item.split("=", 1) for item in connection.split(";") if "=" in item)
        self.account = parts["AccountName"]
        self.key = base64.b64decode(parts["AccountKey"])
        self.reader = Reader(parts["TableEndpoint"])
        self.path = f"/{quote(table)}()"

    def send(self, continuation: dict[str, str] | None = None) -> None:
        query = urlencode({"$select": "PartitionKey,RowKey", **(continuation or {})})
        date = formatdate(usegmt=True)
        # Shared Key for the Table service signs: verb, Content-MD5, Content-Type, date, and
        # the resource (account, then the URL's path).
        signed = f"GET\n\n\n{date}\n/{self.account}{self.reader.base}{self.path}"
        mac = hmac.new(self.key, signed.encode(), hashlib.sha256).digest()
        self.reader.send(f"{self.path}?{query}", {
            "x-ms-date": date, "x-ms-version": "2019-02-02",
            "Accept": "application/json;odata=nometadata",
            "Authorization": f"SharedKey {self.account}:{base64.b64encode(mac).decode()}"})

    def answer(self) -> Rows:
        """The rows of the request `send` made, and of any further pages."""
        found: set[tuple[str, str]] = set()
        while True:
            status, headers, body = self.reader.answer()
            if status == 404:
                return frozenset()  # the service creates its tables on first use
            assert status == 200, f"Table read {status}: {body[:200]!r}"
            found.update((row["PartitionKey"], row["RowKey"]) for row in json.loads(body)["value"])
            headers = {name.lower(): value for name, value in headers.items()}
            if "x-ms-continuation-nextpartitionkey" not in headers:
                return frozenset(found)
            self.send({"NextPartitionKey": headers["x-ms-continuation-nextpartitionkey"],
                       "NextRowKey": headers.get("x-ms-continuation-nextrowkey", "")})


class SideEffects:
    """What a request may have changed: ACS operation counters and table rows (their keys,
    so a row removed and another added is seen, not only a changed count)."""

    def __init__(self, emulator: EmulatorClient, connection: str, tables: list[str]) -> None:
        context = ssl.create_default_context(cafile=emulator.settings["REQUESTS_CA_BUNDLE"])
        self.counters = Reader(emulator.admin, context)
        self.tables = {name: TableRows(connection, name) for name in tables}

    def snapshot(self) -> State:
        self.counters.send("/counters")
        for table in self.tables.values():
            table.send()
        status, _, body = self.counters.answer()
        assert status == 200, f"emulator counters {status}: {body[:200]!r}"
        state: State = {f"acs {name}": count for name, count in json.loads(body).items()
                        if name not in AUTH_COUNTERS}
        for name, table in self.tables.items():
            state[f"table {name}"] = table.answer()
        return state


def changes(before: State, after: State) -> dict[str, str]:
    """What differs between two snapshots, said briefly."""
    found = {}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if isinstance(old, frozenset) or isinstance(new, frozenset):
            old_rows, new_rows = old or frozenset(), new or frozenset()
            added, removed = sorted(new_rows - old_rows), sorted(old_rows - new_rows)
            found[name] = f"rows added {added[:3]}, removed {removed[:3]}"
        else:
            found[name] = f"{old} -> {new}"
    return found
