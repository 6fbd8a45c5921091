"""The SMS records: each recipient's result (as reported and as stored) and the claim an
invocation holds on an idempotency record while it sends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any

PENDING, COMPLETED = "pending", "completed"
INVALID_NUMBER = "Not a valid phone number; not sent."
NOT_SENT = "Not sent yet; retry with the same idempotency key."


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def uuid5_url(name: str) -> str:
    """`str(uuid.uuid5(uuid.NAMESPACE_URL, name))` without building a UUID object: the same
    SHA-1 and version bits, formatted directly (a 1,000-recipient send derives 1,000 ids)."""
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + name.encode(), usedforsecurity=False)
                       .digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def rfc1123(moment: dt.datetime) -> str:
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


@dataclass(frozen=True)
class RecipientResult:
    """What happened to one recipient; `attempt` numbers deliberate resends (internal)."""

    to: str
    successful: bool
    http_status: int
    message_id: str | None = None
    error: str | None = None
    attempt: int = 0

    @property
    def retryable(self) -> bool:
        # ACS said this recipient was not sent and may be later: throttled or a server error.
        return not self.successful and (self.http_status == 429 or self.http_status >= 500)

    def to_json(self) -> dict[str, Any]:
        return {"to": self.to, "messageId": self.message_id, "successful": self.successful,
                "httpStatusCode": self.http_status, "error": self.error}

    def to_record(self) -> list[Any]:
        return [self.to, self.successful, self.http_status, self.message_id, self.error,
                self.attempt]

    @classmethod
    def from_record(cls, item: Sequence[Any]) -> RecipientResult:
        to, successful, status, message_id, error, attempt = item
        return cls(to=str(to), successful=bool(successful), http_status=int(status),
                   message_id=message_id, error=error, attempt=int(attempt))


@dataclass
class Claim:
    """A record held under lease by this invocation (or, without a key, held by nobody)."""

    partition: str
    generation: str
    etag: str
    first_sent: list[str]
    results: dict[str, RecipientResult] = field(default_factory=dict)
    completed: bool = False
    durable: bool = True
    # Pages (index -> their numbers) whose results are known here but not yet stored.
    unsaved: dict[int, Sequence[str]] = field(default_factory=dict)
    # Attempts numbered from here on were created by this invocation, so no earlier one can
    # have sent anything under their repeatability ids (an attempt's FirstSent is stored
    # before anything is sent with it, conditional on the head's ETag).
    fresh_from: int = 0
    # A completed record's outcome in the caller's order, when the record can tell it.
    replayed: tuple[RecipientResult, ...] | None = None
    # Whether a result row was stored for this record by this invocation.
    rows_stored: bool = False
    # Where the invalid numbers stand among the recipients, stored when the record completes.
    invalid: Sequence[tuple[int, str]] | None = None

    @classmethod
    def ephemeral(cls, now: dt.datetime) -> Claim:
        """No Idempotency-Key: nothing stored; repeatability still covers transport retries."""
        return cls(partition=uuid.uuid4().hex, generation="", etag="",
                   first_sent=[rfc1123(now)], durable=False)

    def record(self, index: int, page: Sequence[str], results: Sequence[RecipientResult]) -> None:
        """Note one ACS call's results; the store writes them at the next checkpoint."""
        self.results.update({r.to: r for r in results})
        self.unsaved[index] = page

    def request_id(self, number: str, attempt: int) -> str:
        """The recipient's repeatabilityRequestId: the same for every try of one attempt."""
        return uuid5_url(f"sms:{self.partition}:{number}:{attempt}")
