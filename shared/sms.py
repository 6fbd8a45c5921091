"""The SMS service both SendSms and SmsOutbox call: plan who to send to under an idempotency
record, send in ACS calls of at most 100, record each call's results, and report per recipient.

Never twice: each recipient's repeatabilityRequestId is derived from the record and the attempt,
so a resumed or retried send is dropped by ACS; recorded successes are never sent again.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from shared.errors import ServiceError
from shared.sms_acs import MAX_PER_CALL, Outgoing, SendFailed, SmsClient, SmsContent
from shared.sms_records import Claim, RecipientResult
from shared.sms_request import SmsRequest
from shared.sms_store import IdempotencyStore

logger = logging.getLogger(__name__)

INVALID_NUMBER = "Not a valid phone number; not sent."
NOT_SENT = "Not sent yet; retry with the same idempotency key."
# Results are stored when the record completes or is released, and every few seconds on the
# way for large requests. A crash before they are stored only makes the retry repeat those
# sends under the same repeatability ids, which ACS drops within its 5-minute window.
CHECKPOINT_SECONDS = 5.0


@dataclass(frozen=True)
class SmsOutcome:
    results: tuple[RecipientResult, ...]

    @property
    def status(self) -> int:
        # 202: every recipient accepted; 207: the same shape, some recipients failed.
        return 202 if all(r.successful for r in self.results) else 207

    @property
    def retryable_count(self) -> int:
        return sum(r.retryable for r in self.results)

    def to_json(self) -> dict[str, list[dict[str, object]]]:
        return {"results": [r.to_json() for r in self.results]}


def due(recipients: Sequence[str], recorded: dict[str, RecipientResult]) -> list[tuple[str, int]]:
    """Who to send to now, and under which attempt number.

    No result yet: attempt 0 (it may have been sent by a crashed try; ACS drops the repeat).
    A retryable failure at attempt n: ACS said it was not sent, so attempt n + 1. Successes
    and final failures are never sent again.
    """
    plan = []
    for number in recipients:
        result = recorded.get(number)
        if result is None:
            plan.append((number, 0))
        elif result.retryable:
            plan.append((number, result.attempt + 1))
    return plan


class SmsService:
    def __init__(self, sender: str | None, client: SmsClient, store: IdempotencyStore) -> None:
        self._sender = sender
        self._client = client
        self._store = store

    def send(self, request: SmsRequest, *, scope: str, key: str | None) -> SmsOutcome:
        """Send `request` at most once per recipient for (scope, key); without a key, once."""
        content = self._content(request)
        claim = (self._store.claim(scope, key, request.fingerprint()) if key is not None
                 else self._store.ephemeral())
        if claim.completed:
            logger.info("SMS request replayed from its idempotency record; nothing sent")
            return self._outcome(request, claim)
        try:
            self._send_due(request, content, claim)
            outcome = self._outcome(request, claim)
            if outcome.retryable_count:
                self._store.release(claim)
            else:
                self._store.complete(claim)
        except Exception:
            self._store.release(claim)
            raise
        return outcome

    def _content(self, request: SmsRequest) -> SmsContent:
        if not self._sender:
            logger.error("SMS_FROM is not set: the service cannot send SMS until it is")
            raise ServiceError("SMS sending is not configured on this service.")
        return SmsContent(sender=self._sender, message=request.message, tag=request.tag,
                          enable_delivery_report=request.enable_delivery_report)

    def _send_due(self, request: SmsRequest, content: SmsContent, claim: Claim) -> None:
        sendable = request.sendable
        plan = due(sendable, claim.results)
        calls = math.ceil(len(sendable) / MAX_PER_CALL)
        logger.info("SMS request: %d recipients (%d invalid), %d to send, up to %d ACS calls",
                    len(request.recipients), len(request.invalid), len(plan), calls)
        if not plan:
            return
        self._store.extend_attempts(claim, max(attempt for _, attempt in plan) + 1)
        attempts = dict(plan)
        saved = time.monotonic()
        # Pages are fixed slices of the recipients, so a retry resends within the same pages.
        for start in range(0, len(sendable), MAX_PER_CALL):
            page = sendable[start:start + MAX_PER_CALL]
            batch = [
                Outgoing(to=n, request_id=claim.request_id(n, attempts[n]),
                         first_sent=claim.first_sent[attempts[n]], attempt=attempts[n])
                for n in page if n in attempts
            ]
            if not batch:
                continue
            error: ServiceError | None = None
            try:
                results = self._client.send(content, batch)
            except SendFailed as failure:
                unsent = start if failure.not_sent else start + MAX_PER_CALL
                self._record_not_sent(claim, sendable, unsent, attempts, failure.status)
                error = failure.error
            if error is not None:
                # Raised outside the handler: the error keeps its own cause, not the wrapper.
                raise error
            claim.record(start // MAX_PER_CALL, page, results)
            if time.monotonic() - saved >= CHECKPOINT_SECONDS:
                self._store.checkpoint(claim)
                saved = time.monotonic()

    @staticmethod
    def _record_not_sent(claim: Claim, sendable: Sequence[str], start: int,
                         attempts: dict[str, int], status: int) -> None:
        """After a failed call, record the recipients from `start` on as not sent, so the next
        try sends them as a new attempt with a fresh repeatabilityFirstSent: left without a
        result, a try more than 5 minutes later would repeat the old one and ACS answer 412.

        Only recipients of attempts this invocation created: one numbered earlier may have
        been sent by a try that died before recording it, so it keeps its repeatability id.
        """
        for index in range(start // MAX_PER_CALL, math.ceil(len(sendable) / MAX_PER_CALL)):
            page = sendable[index * MAX_PER_CALL:(index + 1) * MAX_PER_CALL]
            unsent = [RecipientResult(n, False, status, error=NOT_SENT, attempt=attempts[n])
                      for n in page if attempts.get(n, -1) >= claim.fresh_from]
            if unsent:
                claim.record(index, page, unsent)

    @staticmethod
    def _outcome(request: SmsRequest, claim: Claim) -> SmsOutcome:
        results = []
        for number in request.recipients:
            if number in request.invalid:
                results.append(RecipientResult(number, False, 400, error=INVALID_NUMBER))
            else:
                results.append(claim.results.get(number)
                               or RecipientResult(number, False, 503, error=NOT_SENT))
        return SmsOutcome(tuple(results))
