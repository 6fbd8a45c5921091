"""One ACS SMS send call (api-version 2026-01-23) over the shared ACS pipeline, with per-recipient
repeatability, and the per-recipient result it produces.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.acs import AcsClient, error_from_response
from shared.errors import UpstreamError

logger = logging.getLogger(__name__)

SMS_API_VERSION = "2026-01-23"
MAX_PER_CALL = 100
ERROR_MAX = 200


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


@dataclass(frozen=True)
class Outgoing:
    """One recipient of a send call, with the repeatability pair ACS dedupes on."""

    to: str
    request_id: str
    first_sent: str
    attempt: int


@dataclass(frozen=True)
class SmsContent:
    sender: str
    message: str
    tag: str | None
    enable_delivery_report: bool


class SmsClient:
    """Sends one batch of at most MAX_PER_CALL recipients; whole-call failures raise typed
    errors (UpstreamUnavailable for throttling and outages), per-recipient ones are results."""

    def __init__(self, acs: AcsClient) -> None:
        self._acs = acs

    def send(self, content: SmsContent, batch: Sequence[Outgoing]) -> list[RecipientResult]:
        if not 1 <= len(batch) <= MAX_PER_CALL:
            raise ValueError(f"a send call takes 1 to {MAX_PER_CALL} recipients")
        options: dict[str, Any] = {"enableDeliveryReport": content.enable_delivery_report}
        if content.tag is not None:
            options["tag"] = content.tag
        body = {
            "from": content.sender,
            "smsRecipients": [
                {"to": o.to, "repeatabilityRequestId": o.request_id,
                 "repeatabilityFirstSent": o.first_sent} for o in batch
            ],
            "message": content.message,
            "smsSendOptions": options,
        }
        # Retrying a POST after a connection error is safe here: ACS drops repeats.
        response = self._acs.send("POST", "/sms", api_version=SMS_API_VERSION, body=body)
        if response.status_code != 202:
            raise error_from_response("sms.send", response)
        return _results(response.json(), batch)


def _results(data: Any, batch: Sequence[Outgoing]) -> list[RecipientResult]:
    items = data.get("value") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise UpstreamError("Azure Communication Services answered without results.")
    by_number = {item.get("to"): item for item in items if isinstance(item, dict)}
    results = []
    for outgoing in batch:
        item = by_number.get(outgoing.to)
        if item is None or not isinstance(item.get("httpStatusCode"), int):
            # Never guess an outcome: the call fails as a whole and its recipients stay unknown,
            # so a retry repeats them under the same repeatability id and ACS drops repeats.
            logger.warning("ACS answered without a usable result for one recipient")
            raise UpstreamError("Azure Communication Services answered an incomplete result.")
        successful = item.get("successful") is True
        message_id = item.get("messageId")
        error = item.get("errorMessage")
        results.append(RecipientResult(
            to=outgoing.to,
            successful=successful,
            http_status=item["httpStatusCode"],
            message_id=message_id if isinstance(message_id, str) else None,
            error=None if successful else (str(error)[:ERROR_MAX] if error else "Not sent."),
            attempt=outgoing.attempt,
        ))
    sent = sum(r.successful for r in results)
    logger.info("ACS accepted %d of %d recipients in one send call", sent, len(results))
    return results
