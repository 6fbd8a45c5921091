"""Durable SMS idempotency records in Table Storage: a leased head row per idempotency key and
one row of per-recipient results per ACS call, every change conditional on the head's ETag.

One partition per record (a hash of scope and key): `head` holds state, request fingerprint,
lease, expiry and the repeatabilityFirstSent of each attempt; `page00000`.. hold the results
of each 100-recipient page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
)
from azure.data.tables import TableClient, TableEntity, UpdateMode

from shared.clients.tables import LazyTable
from shared.errors import Conflict, ServiceError, UnprocessableContent
from shared.sms.records import (
    COMPLETED,
    INVALID_NUMBER,
    PENDING,
    Claim,
    RecipientResult,
    rfc1123,
)

logger = logging.getLogger(__name__)

HEAD = "head"
# Longer than host.json's functionTimeout (2 min), so a live holder is never taken over, and
# short enough that a crashed holder's work is resumed inside ACS's 5-minute repeat window.
# host.json's queue retries must outlast it: a lease left held (release failed) answers the
# redeliveries inside it with Conflict, so visibilityTimeout (60 s) x (maxDequeueCount - 1)
# leaves two redeliveries after it ends (tests/sms/test_config.py checks both files).
LEASE = dt.timedelta(seconds=130)
RECORD_TTL = dt.timedelta(hours=24)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
Clock = Callable[[], dt.datetime]
# Validates a request about to be sent (raising before anything is written).
Prepare = Callable[[], object]
# A Table string property holds at most 64 KiB of UTF-16: 32K characters, a margin kept. One
# page's results (100 x number, message id and an error cut to 200 characters) stay below it
# only without ASCII escapes, which would make one non-ASCII character six.
MAX_PROPERTY_CHARS = 30_000
_ROWS_PER_WRITE = 99  # a Table transaction holds at most 100 operations, one is the head
# A request that completes in one go, never having stored a result row, stores its results in
# the head itself (one property per page) with one conditional update instead of a
# transaction of page rows: an entity holds 1 MiB of UTF-16 and 255 properties, margins kept.
HEAD_PAGES_MAX = 100
HEAD_RESULT_CHARS_MAX = 300_000
_HEAD_PAGE = "Page"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _nothing_to_check() -> None:
    """The Prepare of a request whose recipients need no check before the claim."""


class IdempotencyStore(Protocol):
    """Where SMS idempotency records live; the SMS service sees only this."""

    def claim(self, scope: str, key: str, fingerprint: str, *,
              prepare: Prepare | None = None) -> Claim: ...

    def ephemeral(self) -> Claim: ...

    def extend_attempts(self, claim: Claim, attempts: int) -> None: ...

    def checkpoint(self, claim: Claim) -> None: ...

    def complete(self, claim: Claim) -> None: ...

    def release(self, claim: Claim) -> None: ...


class TableIdempotencyStore:
    """IdempotencyStore in Table Storage. `clock` gives the current UTC time (injectable, so
    tests move time instead of sleeping through leases and expiries)."""

    def __init__(self, table: LazyTable, *, lease: dt.timedelta = LEASE,
                 ttl: dt.timedelta = RECORD_TTL, clock: Clock = utc_now) -> None:
        self._table = table
        self._lease = lease
        self._ttl = ttl
        self._now = clock

    def ephemeral(self) -> Claim:
        return Claim.ephemeral(self._now())

    @staticmethod
    def partition(scope: str, key: str) -> str:
        return hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()

    def claim(self, scope: str, key: str, fingerprint: str, *,
              prepare: Prepare | None = None) -> Claim:
        """Take the record for (scope, key): new, completed (to replay), or resumed under a
        fresh lease. Raises Conflict while another holder's lease is alive and
        UnprocessableContent when the key was used for a different request.

        `prepare` runs only when the request is to be sent (new or resumed), before anything
        is written: it validates the recipients. Without one, a new record is created straight
        away (one round trip for the common case); only when one exists is it read.
        """
        partition = self.partition(scope, key)
        if prepare is None:
            created = self._table.call(
                lambda c: self._create(c, partition, fingerprint, None, self._now()))
            if created is not None:
                return created
            prepare = _nothing_to_check
        for _ in range(2):
            claim = self._table.call(lambda c: self._claim(c, partition, fingerprint, prepare))
            if claim is not None:
                return claim
        raise Conflict("A request with this idempotency key is in progress.", retry_after=1)

    def _claim(self, client: TableClient, partition: str, fingerprint: str,
               prepare: Prepare) -> Claim | None:
        rows = list(client.query_entities("PartitionKey eq @pk", parameters={"pk": partition}))
        head = next((r for r in rows if r["RowKey"] == HEAD), None)
        now = self._now()
        if head is None or head["ExpiresAt"] <= now:
            prepare()
            return self._create(client, partition, fingerprint, head, now)
        if head["Fingerprint"] != fingerprint:
            raise UnprocessableContent(
                "This idempotency key was already used for a different request."
            )
        generation = str(head["Generation"])
        results = _results(rows, generation)
        if head["State"] == COMPLETED:
            return Claim(partition, generation, str(head.metadata["etag"]),
                         json.loads(head["FirstSent"]), results, completed=True,
                         replayed=_replayed(head, results))
        if head["LeaseUntil"] > now:
            wait = (head["LeaseUntil"] - now).total_seconds()
            raise Conflict("A request with this idempotency key is in progress.",
                           retry_after=max(1, min(int(wait) + 1, 10)))
        prepare()
        etag = self._update(client, str(head.metadata["etag"]), partition,
                            {"LeaseUntil": now + self._lease})
        if etag is None:
            return None
        logger.info("Resuming an unfinished SMS request whose lease had ended")
        first_sent = json.loads(head["FirstSent"])
        return Claim(partition, generation, etag, first_sent, results,
                     fresh_from=len(first_sent))

    def _create(self, client: TableClient, partition: str, fingerprint: str,
                expired: TableEntity | None, now: dt.datetime) -> Claim | None:
        first_sent = [rfc1123(now)]
        generation = uuid.uuid4().hex
        head = {
            "PartitionKey": partition, "RowKey": HEAD, "State": PENDING,
            "Fingerprint": fingerprint, "Generation": generation,
            "FirstSent": json.dumps(first_sent), "LeaseUntil": now + self._lease,
            "ExpiresAt": now + self._ttl,
        }
        if expired is None:
            try:
                # Only the ETag is needed: no echo of the entity (about 0.3 ms less a claim).
                etag = client.create_entity(head, response_preference="return-no-content")["etag"]
            except ResourceExistsError:
                return None  # a concurrent first request won: read its record instead
        else:
            # A new generation: the expired record's result rows no longer count.
            etag = self._update(client, str(expired.metadata["etag"]), partition, head,
                                mode=UpdateMode.REPLACE)
            if etag is None:
                return None
        return Claim(partition, generation, etag, first_sent)

    def _update(self, client: TableClient, etag: str, partition: str, values: dict[str, Any],
                *, mode: UpdateMode = UpdateMode.MERGE) -> str | None:
        """Conditional head update; None when someone else changed the record first."""
        entity = {**values, "PartitionKey": partition, "RowKey": HEAD}
        try:
            result = client.update_entity(entity, mode=mode, etag=etag,
                                          match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError:
            return None
        return str(result["etag"])

    def _write(self, claim: Claim, values: dict[str, Any]) -> None:
        """Write the claim's unsaved result rows and change its head (renewing the lease), only
        if this invocation still holds the record; a transaction takes at most 100 rows."""
        if not claim.durable:
            return
        pages = sorted(claim.unsaved.items())
        chunks = [pages[i:i + _ROWS_PER_WRITE]
                  for i in range(0, len(pages), _ROWS_PER_WRITE)] or [[]]
        for chunk in chunks:
            head = {"PartitionKey": claim.partition, "RowKey": HEAD,
                    "LeaseUntil": self._now() + self._lease,
                    **(values if chunk is chunks[-1] else {})}
            operations: list[Any] = [("update", head, {
                "mode": UpdateMode.MERGE, "etag": claim.etag,
                "match_condition": MatchConditions.IfNotModified,
            })]
            operations += [("upsert", self._page_row(claim, index, page),
                            {"mode": UpdateMode.REPLACE}) for index, page in chunk]
            claim.etag = self._table.call(partial(_submit, operations=operations))
            for index, _ in chunk:
                del claim.unsaved[index]
                claim.rows_stored = True

    @staticmethod
    def _page_row(claim: Claim, index: int, page: Sequence[str]) -> dict[str, Any]:
        return {"PartitionKey": claim.partition, "RowKey": f"page{index:05d}",
                "Generation": claim.generation, "Results": _page_results(claim, page)}

    def _write_into_head(self, claim: Claim, values: dict[str, Any]) -> bool:
        """Store every result in the head with `values`, if the record is this invocation's
        own, has no result row and the results fit; False when they must go in rows."""
        if not claim.durable or claim.fresh_from or claim.rows_stored \
                or len(claim.unsaved) > HEAD_PAGES_MAX:
            return False
        pages = {f"{_HEAD_PAGE}{index:05d}": _page_results(claim, page)
                 for index, page in sorted(claim.unsaved.items())}
        if sum(len(text) for text in pages.values()) > HEAD_RESULT_CHARS_MAX:
            return False
        entity = {**values, **pages, "PartitionKey": claim.partition, "RowKey": HEAD}
        etag = self._table.call(lambda client: self._update(client, claim.etag, claim.partition,
                                                            entity))
        if etag is None:
            raise Conflict("Another worker took over this request.", retry_after=1)
        claim.etag = etag
        claim.unsaved.clear()
        return True

    def extend_attempts(self, claim: Claim, attempts: int) -> None:
        """Fix the repeatabilityFirstSent of new attempts before anything is sent with them."""
        if len(claim.first_sent) >= attempts:
            return
        first_sent = claim.first_sent + [rfc1123(self._now())] * (attempts - len(claim.first_sent))
        self._write(claim, {"FirstSent": json.dumps(first_sent)})
        claim.first_sent = first_sent

    def checkpoint(self, claim: Claim) -> None:
        """Save the results recorded so far, so a much later retry need not repeat them."""
        if claim.unsaved:
            self._write(claim, {})

    def complete(self, claim: Claim) -> None:
        values: dict[str, Any] = {"State": COMPLETED, "LeaseUntil": _EPOCH}
        if claim.invalid is not None:
            positions = json.dumps(list(claim.invalid), separators=(",", ":"),
                                   ensure_ascii=False)
            if len(positions) <= MAX_PROPERTY_CHARS:
                # Kept so a replay needs no parsing; a list too long for one property is left
                # out, and a replay of this record then resolves the request again.
                values["Invalid"] = positions
        if not self._write_into_head(claim, values):
            self._write(claim, values)
        claim.completed = True

    def release(self, claim: Claim) -> None:
        """Best effort: let the next try take over at once instead of waiting out the lease."""
        if not claim.durable or claim.completed:
            return
        try:
            self._write(claim, {"LeaseUntil": _EPOCH})
        except (ServiceError, AzureError) as exc:
            logger.warning("Could not release an SMS record's lease (%s); it ends by itself",
                           type(exc).__name__)


def _submit(client: TableClient, *, operations: list[Any]) -> str:
    try:
        return str(client.submit_transaction(operations)[0]["etag"])
    except HttpResponseError as exc:
        if exc.status_code == 412:
            raise Conflict("Another worker took over this request.", retry_after=1) from exc
        raise


def _replayed(head: TableEntity, results: dict[str, RecipientResult]
              ) -> tuple[RecipientResult, ...] | None:
    """A completed record's outcome in the caller's order: the results, stored in recipient
    order, with the invalid numbers put back where they stood. None for a record written
    before the positions were kept: the caller then rebuilds it from the request."""
    if "Invalid" not in head:
        return None
    ordered = list(results.values())
    for position, number in json.loads(head["Invalid"]):
        ordered.insert(position, RecipientResult(number, False, 400, error=INVALID_NUMBER))
    return tuple(ordered)


def _page_results(claim: Claim, page: Sequence[str]) -> str:
    records = [claim.results[n].to_record() for n in page if n in claim.results]
    return json.dumps(records, separators=(",", ":"), ensure_ascii=False)


def _results(rows: Sequence[TableEntity], generation: str) -> dict[str, RecipientResult]:
    """The current generation's results in page order: from the head's page properties (a
    head belongs to its generation: a new one replaces it whole) or from result rows."""
    results: dict[str, RecipientResult] = {}
    for row in rows:
        if row["RowKey"] == HEAD:
            pages = [row[name] for name in sorted(row) if name.startswith(_HEAD_PAGE)]
        elif row.get("Generation") == generation:
            pages = [row["Results"]]
        else:
            continue
        for page in pages:
            for item in json.loads(page):
                result = RecipientResult.from_record(item)
                results[result.to] = result
    return results
