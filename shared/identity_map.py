"""The caller -> ACS identity map in Table Storage, with race-safe create and replace.

One entity per caller; the partition key is a hash of issuer and subject, so keys never hold
characters Table Storage forbids and every lookup is a point read.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Protocol

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, UpdateMode

from shared.auth import Caller
from shared.tables import LazyTable, table_missing

logger = logging.getLogger(__name__)

ROW_KEY = "acs"


class IdentityMap(Protocol):
    def get(self, caller: Caller) -> str | None: ...

    def add(self, caller: Caller, identity_id: str) -> str:
        """Map the caller if unmapped; return the identity that is mapped afterwards."""
        ...

    def replace(self, caller: Caller, old_id: str, new_id: str) -> str:
        """Swap old_id for new_id unless someone else changed it; return the mapped identity."""
        ...


class InMemoryIdentityMap:
    """IdentityMap in a dict: for fast tests and tools; one process only, nothing durable."""

    def __init__(self) -> None:
        self._rows: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, caller: Caller) -> str | None:
        return self._rows.get(caller.key)

    def add(self, caller: Caller, identity_id: str) -> str:
        with self._lock:
            return self._rows.setdefault(caller.key, identity_id)

    def replace(self, caller: Caller, old_id: str, new_id: str) -> str:
        with self._lock:
            current = self._rows.setdefault(caller.key, new_id)
            if current == old_id:
                self._rows[caller.key] = current = new_id
            return current


def partition_key(caller: Caller) -> str:
    return hashlib.sha256(caller.key.encode()).hexdigest()


class TableIdentityMap:
    def __init__(self, table: LazyTable) -> None:
        self._table = table

    def _read(self, client: TableClient, caller: Caller) -> TableEntity | None:
        try:
            return client.get_entity(partition_key(caller), ROW_KEY)
        except ResourceNotFoundError as exc:
            if table_missing(exc):
                raise  # not "unmapped": LazyTable recreates the table and tries again
            return None

    def get(self, caller: Caller) -> str | None:
        entity = self._table.call(lambda client: self._read(client, caller))
        return str(entity["CommunicationUserId"]) if entity else None

    def add(self, caller: Caller, identity_id: str) -> str:
        def insert(client: TableClient) -> str:
            try:
                client.create_entity(self._entity(caller, identity_id))
                return identity_id
            except ResourceExistsError:
                winner = self._read(client, caller)
                if winner is None:  # deleted between our insert and read: try once more
                    client.create_entity(self._entity(caller, identity_id))
                    return identity_id
                return str(winner["CommunicationUserId"])

        return self._table.call(insert)

    def replace(self, caller: Caller, old_id: str, new_id: str) -> str:
        def swap(client: TableClient) -> str:
            current = self._read(client, caller)
            if current is None:
                return self.add(caller, new_id)
            if current["CommunicationUserId"] != old_id:
                return str(current["CommunicationUserId"])
            try:
                client.update_entity(
                    self._entity(caller, new_id),
                    mode=UpdateMode.REPLACE,
                    etag=current.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
                return new_id
            except ResourceModifiedError:
                latest = self._read(client, caller)
                return str(latest["CommunicationUserId"]) if latest else self.add(caller, new_id)

        return self._table.call(swap)

    @staticmethod
    def _entity(caller: Caller, identity_id: str) -> dict[str, str]:
        return {
            "PartitionKey": partition_key(caller),
            "RowKey": ROW_KEY,
            "CommunicationUserId": identity_id,
            "Issuer": caller.issuer,
            "Subject": caller.subject,
        }
