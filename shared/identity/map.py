"""The caller -> ACS identity map in Table Storage, its reverse index, race-safe changes.

One entity per caller; the partition key is a hash of issuer and subject, so keys never hold
characters Table Storage forbids and every lookup is a point read. Each mapped identity also
has a reverse record (partition `rev-<hash of the identity id>`, same table) naming the
caller's partition; it is written before the forward mapping, so a mapping never lacks one
(mappings older than reverse records get theirs on the next read of the mapping).
A reverse record whose forward mapping points elsewhere is stale: lookups ignore and remove it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableEntity, UpdateMode

from shared.auth.caller import Caller
from shared.clients.tables import LazyTable, table_missing
from shared.errors import UpstreamUnavailable

logger = logging.getLogger(__name__)

ROW_KEY = "acs"
REVERSE_ROW_KEY = "user"
REVERSE_PREFIX = "rev-"
# A reverse record without its forward mapping may belong to a create still in flight (the
# reverse record is written first): only one older than any invocation can run is stale.
STALE_AFTER = dt.timedelta(minutes=5)
INSERT_ATTEMPTS = 3
# Set on mappings whose reverse record was written first; older mappings lack it.
INDEXED = "Indexed"


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
        """Delete the mapping if it is still `entry`; whether it is gone afterwards."""
        ...

    def remove_reverse(self, identity_id: str) -> None: ...

    def owner(self, identity_id: str) -> Caller | None:
        """Who `identity_id` is mapped to, checked against the forward mapping."""
        ...


class InMemoryIdentityMap:
    """IdentityMap in a dict: for fast tests and tools; one process only, nothing durable.

    A mapping's version plays the ETag's part; the reverse lookup scans the forward rows, so
    there is no reverse record to remove."""

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

    def remove_reverse(self, identity_id: str) -> None:
        return None

    def owner(self, identity_id: str) -> Caller | None:
        return next((caller for caller, mapped, _ in self._rows.values()
                     if mapped == identity_id), None)


def partition_key(caller: Caller) -> str:
    return hashlib.sha256(caller.key.encode()).hexdigest()


def reverse_key(identity_id: str) -> str:
    return REVERSE_PREFIX + hashlib.sha256(identity_id.encode()).hexdigest()


class TableIdentityMap:
    def __init__(self, table: LazyTable, *, stale_after: dt.timedelta = STALE_AFTER) -> None:
        self._table = table
        self._stale_after = stale_after

    def _read(self, client: TableClient, caller: Caller) -> TableEntity | None:
        try:
            return client.get_entity(partition_key(caller), ROW_KEY)
        except ResourceNotFoundError as exc:
            if table_missing(exc):
                raise  # not "unmapped": LazyTable recreates the table and tries again
            return None

    def get(self, caller: Caller) -> str | None:
        def read(client: TableClient) -> TableEntity | None:
            entity = self._read(client, caller)
            if entity is not None and not entity.get(INDEXED):
                self._backfill(client, caller, entity)
            return entity

        entity = self._table.call(read)
        return str(entity["CommunicationUserId"]) if entity else None

    def _backfill(self, client: TableClient, caller: Caller, entity: TableEntity) -> None:
        """A mapping made before reverse records existed gets one, once (best effort)."""
        try:
            self._write_reverse(client, caller, str(entity["CommunicationUserId"]))
            client.update_entity(
                {"PartitionKey": entity["PartitionKey"], "RowKey": ROW_KEY, INDEXED: True},
                mode=UpdateMode.MERGE, etag=entity.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
            logger.info("Added the missing reverse record of a mapping")
        except (ResourceModifiedError, ResourceNotFoundError):
            pass  # changed or deleted meanwhile: a reverse record left is stale, and harmless
        except AzureError as exc:
            logger.warning("Could not add a reverse record: %s", type(exc).__name__)

    def add(self, caller: Caller, identity_id: str) -> str:
        def insert(client: TableClient) -> str:
            self._write_reverse(client, caller, identity_id)
            for _ in range(INSERT_ATTEMPTS):
                try:
                    client.create_entity(self._entity(caller, identity_id))
                    return identity_id
                except ResourceExistsError:
                    winner = self._read(client, caller)
                    if winner is not None:
                        self._forget_reverse(client, identity_id)
                        return str(winner["CommunicationUserId"])
                    # Deleted between our insert and read (a concurrent delete): again.
            raise UpstreamUnavailable("The identity map is busy; try again.", retry_after=1)

        return self._table.call(insert)

    def replace(self, caller: Caller, old_id: str, new_id: str) -> str:
        def swap(client: TableClient) -> str:
            current = self._read(client, caller)
            if current is None:
                return self.add(caller, new_id)
            if current["CommunicationUserId"] != old_id:
                return str(current["CommunicationUserId"])
            self._write_reverse(client, caller, new_id)
            try:
                client.update_entity(
                    self._entity(caller, new_id),
                    mode=UpdateMode.REPLACE,
                    etag=current.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            except (ResourceModifiedError, ResourceNotFoundError) as exc:
                # Changed or deleted (the caller deleted their identity) since it was read.
                if isinstance(exc, ResourceNotFoundError) and table_missing(exc):
                    raise
                latest = self._read(client, caller)
                if latest is None:
                    return self.add(caller, new_id)
                self._forget_reverse(client, new_id)
                return str(latest["CommunicationUserId"])
            self._forget_reverse(client, old_id)  # the old identity is gone from ACS
            return new_id

        return self._table.call(swap)

    def entry(self, caller: Caller) -> MapEntry | None:
        entity = self._table.call(lambda client: self._read(client, caller))
        if entity is None:
            return None
        return MapEntry(str(entity["CommunicationUserId"]), str(entity.metadata["etag"]))

    def remove(self, caller: Caller, entry: MapEntry) -> bool:
        def delete(client: TableClient) -> bool:
            try:
                # A missing entity is no error here: the mapping is gone either way.
                client.delete_entity(
                    partition_key(caller), ROW_KEY,
                    etag=entry.etag, match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError:
                return False  # remapped meanwhile (IssueToken healed it): that one stays
            return True

        return self._table.call(delete)

    def remove_reverse(self, identity_id: str) -> None:
        self._table.call(lambda client: self._delete_reverse(client, identity_id))

    def owner(self, identity_id: str) -> Caller | None:
        def find(client: TableClient) -> Caller | None:
            try:
                reverse = client.get_entity(reverse_key(identity_id), REVERSE_ROW_KEY)
            except ResourceNotFoundError as exc:
                if table_missing(exc):
                    raise
                return None
            try:
                forward = client.get_entity(str(reverse["ForwardKey"]), ROW_KEY)
            except ResourceNotFoundError as exc:
                if table_missing(exc):
                    raise
                forward = None
            if forward is not None and forward["CommunicationUserId"] == identity_id:
                return Caller(issuer=str(forward["Issuer"]), subject=str(forward["Subject"]),
                              roles=frozenset())
            self._repair(client, reverse, self._stale_after)
            return None

        return self._table.call(find)

    @staticmethod
    def _repair(client: TableClient, reverse: TableEntity, stale_after: dt.timedelta) -> None:
        written = reverse.metadata.get("timestamp")
        if not isinstance(written, dt.datetime) or (
                dt.datetime.now(dt.UTC) - written < stale_after):
            return
        logger.info("Removing a stale reverse record of the identity map")
        # Rewritten meanwhile (ResourceModifiedError): no longer the record judged stale.
        with suppress(ResourceModifiedError):
            client.delete_entity(
                reverse["PartitionKey"], REVERSE_ROW_KEY,
                etag=reverse.metadata["etag"], match_condition=MatchConditions.IfNotModified,
            )

    @staticmethod
    def _write_reverse(client: TableClient, caller: Caller, identity_id: str) -> None:
        client.upsert_entity({
            "PartitionKey": reverse_key(identity_id),
            "RowKey": REVERSE_ROW_KEY,
            "ForwardKey": partition_key(caller),
        }, mode=UpdateMode.REPLACE)

    @staticmethod
    def _delete_reverse(client: TableClient, identity_id: str) -> None:
        client.delete_entity(reverse_key(identity_id), REVERSE_ROW_KEY)

    @classmethod
    def _forget_reverse(cls, client: TableClient, identity_id: str) -> None:
        """Best effort: a reverse record left behind is stale, ignored and later removed."""
        try:
            cls._delete_reverse(client, identity_id)
        except AzureError as exc:
            logger.warning("Could not remove a reverse record: %s", type(exc).__name__)

    @staticmethod
    def _entity(caller: Caller, identity_id: str) -> dict[str, str | bool]:
        return {
            "PartitionKey": partition_key(caller),
            "RowKey": ROW_KEY,
            "CommunicationUserId": identity_id,
            "Issuer": caller.issuer,
            "Subject": caller.subject,
            INDEXED: True,
        }
