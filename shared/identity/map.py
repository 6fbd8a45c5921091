"""The caller -> ACS identity map in Table Storage, with its reverse index, changed atomically.

All rows live in one partition (`PARTITION`), so each change is one entity-group transaction:
a caller's mapping (row `user-<SHA-256 of issuer and subject>`) and its identity's reverse
record (row `acs-<SHA-256 of the identity id>`, naming the caller) are written, swapped and
removed together, and can never disagree. Keys are hashes, so they never hold characters Table
Storage forbids, and every lookup is one point read.

One partition serves about 2,000 entity operations a second (Table Storage's target), far above
what ACS allows this service to ask for (1,000 token issues per 30 s per resource): the
partition is never the bottleneck, and every operation keeps to one read and one write.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from shared.auth.caller import Caller
from shared.clients.tables import LazyTable, StoredEntity, read_entity, table_missing
from shared.errors import UpstreamUnavailable

logger = logging.getLogger(__name__)

PARTITION = "identities"
USER_PREFIX = "user-"
IDENTITY_PREFIX = "acs-"
INSERT_ATTEMPTS = 3


@dataclass(frozen=True)
class MapEntry:
    """A caller's mapped identity and the version of the mapping it was read at."""

    identity_id: str
    etag: str


class IdentityMap(Protocol):
    def get(self, caller: Caller) -> str | None: ...

    def add(self, caller: Caller, identity_id: str) -> str:
        """Map the caller if unmapped; return the identity that is mapped afterwards."""
        ...

    def replace(self, caller: Caller, old_id: str, new_id: str) -> str:
        """Swap old_id for new_id unless someone else changed it; return the mapped identity."""
        ...

    def entry(self, caller: Caller) -> MapEntry | None: ...

    def remove(self, caller: Caller, entry: MapEntry) -> bool:
        """Delete the mapping and its reverse record if the mapping is still `entry`; whether
        it is gone afterwards."""
        ...

    def owner(self, identity_id: str) -> Caller | None:
        """Who `identity_id` is mapped to."""
        ...


class InMemoryIdentityMap:
    """IdentityMap in a dict: for fast tests and tools; one process only, nothing durable.

    A mapping's version plays the ETag's part; the reverse lookup scans the mappings."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[Caller, str, int]] = {}
        self._versions = 0
        self._lock = threading.Lock()

    def _put(self, caller: Caller, identity_id: str) -> str:
        self._versions += 1
        self._rows[caller.key] = (caller, identity_id, self._versions)
        return identity_id

    def get(self, caller: Caller) -> str | None:
        row = self._rows.get(caller.key)
        return row[1] if row else None

    def entry(self, caller: Caller) -> MapEntry | None:
        row = self._rows.get(caller.key)
        return MapEntry(row[1], str(row[2])) if row else None

    def add(self, caller: Caller, identity_id: str) -> str:
        with self._lock:
            row = self._rows.get(caller.key)
            return row[1] if row else self._put(caller, identity_id)

    def replace(self, caller: Caller, old_id: str, new_id: str) -> str:
        with self._lock:
            row = self._rows.get(caller.key)
            if row is None or row[1] == old_id:
                return self._put(caller, new_id)
            return row[1]

    def remove(self, caller: Caller, entry: MapEntry) -> bool:
        with self._lock:
            row = self._rows.get(caller.key)
            if row is not None and (row[1], str(row[2])) != (entry.identity_id, entry.etag):
                return False
            self._rows.pop(caller.key, None)
            return True

    def owner(self, identity_id: str) -> Caller | None:
        return next((caller for caller, mapped, _ in self._rows.values()
                     if mapped == identity_id), None)


def user_row(caller: Caller) -> str:
    return USER_PREFIX + hashlib.sha256(caller.key.encode()).hexdigest()


def identity_row(identity_id: str) -> str:
    return IDENTITY_PREFIX + hashlib.sha256(identity_id.encode()).hexdigest()


class TableIdentityMap:
    def __init__(self, table: LazyTable) -> None:
        self._table = table

    @staticmethod
    def _read(client: TableClient, row: str) -> StoredEntity | None:
        # A missing table is not "unmapped": LazyTable creates the table and tries again.
        return read_entity(client, PARTITION, row)

    def get(self, caller: Caller) -> str | None:
        entry = self.entry(caller)
        return entry.identity_id if entry else None

    def entry(self, caller: Caller) -> MapEntry | None:
        entity = self._table.call(lambda client: self._read(client, user_row(caller)))
        if entity is None:
            return None
        return MapEntry(str(entity.properties["CommunicationUserId"]), entity.etag)

    def add(self, caller: Caller, identity_id: str) -> str:
        def insert(client: TableClient) -> str:
            for _ in range(INSERT_ATTEMPTS):
                try:
                    _transact(client, [("create", _mapping(caller, identity_id)),
                                       ("create", _reverse(caller, identity_id))])
                    return identity_id
                except TableTransactionError as exc:
                    if exc.status_code != 409:
                        raise
                winner = self._read(client, user_row(caller))
                if winner is not None:
                    return str(winner.properties["CommunicationUserId"])
                # Deleted between our insert and read (a concurrent delete): again.
            raise UpstreamUnavailable("The identity map is busy; try again.", retry_after=1)

        return self._table.call(insert)

    def replace(self, caller: Caller, old_id: str, new_id: str) -> str:
        def swap(client: TableClient) -> str:
            current = self._read(client, user_row(caller))
            if current is None:
                return self.add(caller, new_id)
            if current.properties["CommunicationUserId"] != old_id:
                return str(current.properties["CommunicationUserId"])
            etag = current.etag
            swapped = [("update", _mapping(caller, new_id),
                        {"mode": UpdateMode.REPLACE, **_unchanged(etag)}),
                       ("create", _reverse(caller, new_id))]
            try:
                _transact(client, [*swapped, ("delete", _reverse(caller, old_id))])
                return new_id
            except TableTransactionError as exc:
                if exc.status_code not in (404, 409, 412):
                    raise
            # Changed or deleted (the caller deleted their identity) since it was read, or
            # (mapping unchanged) the old reverse record was removed by hand.
            latest = self._read(client, user_row(caller))
            if latest is None:
                return self.add(caller, new_id)
            if latest.etag != etag:
                return str(latest.properties["CommunicationUserId"])
            try:
                _transact(client, swapped)
            except TableTransactionError as exc:
                if exc.status_code not in (404, 409, 412):
                    raise
                raise UpstreamUnavailable("The identity map is busy; try again.",
                                          retry_after=1) from exc
            return new_id

        return self._table.call(swap)

    def remove(self, caller: Caller, entry: MapEntry) -> bool:
        def delete(client: TableClient) -> bool:
            mapping = ("delete", _mapping(caller, entry.identity_id), _unchanged(entry.etag))
            try:
                _transact(client, [mapping, ("delete", _reverse(caller, entry.identity_id))])
                return True
            except TableTransactionError as exc:
                if exc.status_code not in (404, 412):
                    raise
            latest = self._read(client, user_row(caller))
            if latest is None:
                return True  # removed meanwhile (a concurrent delete): gone either way
            if latest.etag != entry.etag:
                return False  # remapped meanwhile (IssueToken healed it): that one stays
            try:
                _transact(client, [mapping])  # its reverse record was removed by hand
            except TableTransactionError as exc:
                if exc.status_code == 412:
                    return False
                if exc.status_code != 404:
                    raise
            return True

        return self._table.call(delete)

    def owner(self, identity_id: str) -> Caller | None:
        reverse = self._table.call(lambda client: self._read(client, identity_row(identity_id)))
        if reverse is None:
            return None
        return Caller(issuer=str(reverse.properties["Issuer"]),
                      subject=str(reverse.properties["Subject"]),
                      roles=frozenset())


def _unchanged(etag: str) -> dict[str, object]:
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


def _transact(client: TableClient, operations: list[Any]) -> None:
    """One entity-group transaction; a missing table is raised as the 404 LazyTable handles."""
    try:
        client.submit_transaction(operations)
    except TableTransactionError as exc:
        if table_missing(exc):
            raise ResourceNotFoundError(message="TableNotFound", response=exc.response) from exc
        raise


def _mapping(caller: Caller, identity_id: str) -> dict[str, str]:
    return {"PartitionKey": PARTITION, "RowKey": user_row(caller),
            "CommunicationUserId": identity_id, "Issuer": caller.issuer,
            "Subject": caller.subject}


def _reverse(caller: Caller, identity_id: str) -> dict[str, str]:
    return {"PartitionKey": PARTITION, "RowKey": identity_row(identity_id),
            "CommunicationUserId": identity_id, "Issuer": caller.issuer,
            "Subject": caller.subject}
