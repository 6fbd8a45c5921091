"""What a fuzzed request may have changed: the emulator's ACS operation counters and the keys
of every row in the service's tables, read in one round trip each, after every request."""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from emulator.client import EmulatorClient

# Emulator counters a caller's own token check may move (key discovery); every other counter
# is an ACS operation, which no refused request may cause.
AUTH_COUNTERS = frozenset({"oidc.discovery", "oidc.jwks", "oidc.mint", "mi.token"})

State = dict[str, Any]


class TableRows:
    """The (PartitionKey, RowKey) of every row of a table, read over Table REST with the
    account's Shared Key. The SDK's pipeline parses and wraps every row: after each of
    thousands of requests that costs more than the request itself; this reads the keys only.
    """

    def __init__(self, connection: str) -> None:
        parts = dict(item.split("=", 1) for item in connection.split(";") if "=" in item)
        self.account = parts["AccountName"]
        self.key = base64.b64decode(parts["AccountKey"])
        self.endpoint = parts["TableEndpoint"].rstrip("/")
        self.http = requests.Session()
        self.http.trust_env = False

    def keys(self, table: str) -> frozenset[tuple[str, str]]:
        """Every row's keys; empty when the table does not exist (yet)."""
        url = f"{self.endpoint}/{quote(table)}()"
        params = {"$select": "PartitionKey,RowKey"}
        found: set[tuple[str, str]] = set()
        while True:
            response = self.http.get(url, params=params, headers=self._headers(url),
                                     timeout=15)
            if response.status_code == 404:
                return frozenset()
            response.raise_for_status()
            found.update((row["PartitionKey"], row["RowKey"])
                         for row in response.json()["value"])
            partition = response.headers.get("x-ms-continuation-NextPartitionKey")
            if partition is None:
                return frozenset(found)
            params = {**params, "NextPartitionKey": partition,
                      "NextRowKey": response.headers.get("x-ms-continuation-NextRowKey", "")}

    def _headers(self, url: str) -> dict[str, str]:
        date = formatdate(usegmt=True)
        # Shared Key for the Table service: verb, Content-MD5, Content-Type, date, resource.
        signed = f"GET\n\n\n{date}\n/{self.account}{urlsplit(url).path}"
        mac = hmac.new(self.key, signed.encode(), hashlib.sha256).digest()
        return {"x-ms-date": date, "x-ms-version": "2019-02-02",
                "Accept": "application/json;odata=nometadata",
                "DataServiceVersion": "3.0;NetFx", "MaxDataServiceVersion": "3.0;NetFx",
                "Authorization": f"SharedKey {self.account}:{base64.b64encode(mac).decode()}"}


class SideEffects:
    """What a request may have changed: ACS operation counters and table rows (their keys,
    so a row added and another removed is seen, not only a changed count)."""

    def __init__(self, emulator: EmulatorClient, connection: str, tables: list[str]) -> None:
        self.emulator = emulator
        self.rows = TableRows(connection)
        self.names = tables

    def snapshot(self) -> State:
        state: State = {f"acs {name}": count for name, count in self.emulator.counters().items()
                        if name not in AUTH_COUNTERS}
        for name in self.names:
            state[f"table {name}"] = self.rows.keys(name)
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
