"""One ACS SMS send call (api-version 2026-01-23) over the shared ACS pipeline, with per-recipient
repeatability, the per-recipient result it produces, and whether a failed call sent anything.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ClientAuthenticationError
from azure.core.rest import HttpResponse

from shared.acs import AcsClient, error_from_response
from shared.acs_reach import Reach
from shared.errors import ServiceError, UpstreamError, UpstreamUnavailable

logger = logging.getLogger(__name__)

SMS_API_VERSION = "2026-01-23"
MAX_PER_CALL = 100
ERROR_MAX = 200
# Tries of one call after a transport error or an answer that leaves the outcome unknown.
TRIES = 3
BACKOFF_SECONDS = 0.5
_OUTCOME_UNKNOWN = frozenset({500, 502, 504})


class SendFailed(Exception):
    """A send call that failed as a whole; `error` is what the caller is told.

    `not_sent` is True when no recipient of the call can have been sent: every try was
    answered 429, 503 or 4xx, or never left. It is False when the outcome is unknown (an
    answer lost after sending, a 500/502/504, an unusable 202): ACS may have sent some.
    """

    def __init__(self, error: ServiceError, *, not_sent: bool, status: int = 503) -> None:
        super().__init__(error.detail)
        self.error = error
        self.not_sent = not_sent
        # The per-recipient status to record: ACS's own when it says "retry later", else 503.
        self.status = status if status == 429 or status >= 500 else 503


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
    """Sends one batch of at most MAX_PER_CALL recipients; per-recipient failures are results,
    whole-call failures raise SendFailed around the typed error (UpstreamUnavailable for
    throttling and outages)."""

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
        response, may_have_acted = self._post(body)
        if response.status_code != 202:
            error = error_from_response("sms.send", response)
            if not isinstance(error, ServiceError):
                raise error
            # `may_have_acted`: some try of this call (this answer's included) may have been
            # sent; only when none was are its recipients free for a new attempt.
            raise SendFailed(error, not_sent=not may_have_acted, status=response.status_code)
        try:
            return parse_results(response.content, batch)
        except UpstreamError as exc:
            raise SendFailed(exc, not_sent=False) from None

    def _post(self, body: dict[str, Any]) -> tuple[HttpResponse, bool]:
        """POST the call; also say whether any try may have reached ACS.

        One Reach spans every try, the pipeline's own retries included (shared.acs_reach):
        a 502 that the pipeline retried into a 503 still counts as "may have sent". The
        pipeline (`idempotent=False`) retries only 429 and 503; a try whose outcome is unknown
        comes back here and is retried under the same repeatability ids, which ACS drops.
        """
        reach = Reach()
        for tried in range(1, TRIES + 1):
            last = tried == TRIES
            try:
                response = self._acs.send("POST", "/sms", api_version=SMS_API_VERSION,
                                          body=body, idempotent=False, reach=reach)
            except UpstreamUnavailable as exc:
                # A credential failure comes before sending: trying again will not help.
                if last or isinstance(exc.__cause__, ClientAuthenticationError):
                    raise SendFailed(exc, not_sent=not reach.may_have_acted) from None
            else:
                if response.status_code not in _OUTCOME_UNKNOWN or last:
                    return response, reach.may_have_acted
            time.sleep(BACKOFF_SECONDS * tried)
        raise AssertionError("unreachable: the last try returns or raises")


def parse_results(content: bytes, batch: Sequence[Outgoing]) -> list[RecipientResult]:
    """The per-recipient results of a 202 body. Anything unusable (not JSON, another shape, a
    recipient missing) is UpstreamError, never a guess: the call's outcome is then unknown, so
    a retry repeats its recipients under the same repeatability ids and ACS drops repeats."""
    try:
        data = json.loads(content)
    except (ValueError, RecursionError) as exc:
        logger.warning("ACS answered 202 with a body that is not JSON")
        raise UpstreamError("Azure Communication Services answered an unreadable result.") \
            from exc
    items = data.get("value") if isinstance(data, dict) else None
    if not isinstance(items, list):
        logger.warning("ACS answered 202 without a list of results")
        raise UpstreamError("Azure Communication Services answered without results.")
    by_number = {item["to"]: item for item in items
                 if isinstance(item, dict) and isinstance(item.get("to"), str)}
    results = []
    for outgoing in batch:
        item = by_number.get(outgoing.to)
        status = item.get("httpStatusCode") if item is not None else None
        if item is None or not isinstance(status, int) or isinstance(status, bool):
            logger.warning("ACS answered without a usable result for one recipient")
            raise UpstreamError("Azure Communication Services answered an incomplete result.")
        successful = item.get("successful") is True
        message_id = item.get("messageId")
        error = item.get("errorMessage")
        results.append(RecipientResult(
            to=outgoing.to,
            successful=successful,
            http_status=status,
            message_id=message_id if isinstance(message_id, str) else None,
            error=None if successful else (str(error)[:ERROR_MAX] if error else "Not sent."),
            attempt=outgoing.attempt,
        ))
    sent = sum(r.successful for r in results)
    logger.info("ACS accepted %d of %d recipients in one send call", sent, len(results))
    return results
