"""The SMS service both SendSms and SmsOutbox call: plan who to send to under an idempotency
record, send in ACS calls of at most 100, record each call's results, and report per recipient.

Never twice: each recipient's repeatabilityRequestId is derived from the record and the attempt,
so a resumed or retried send is dropped by ACS; recorded successes are never sent again.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from shared.clients.transport import request_written
from shared.errors import ServiceError
from shared.sms.client import MAX_PER_CALL, Outgoing, SendFailed, SmsClient, SmsContent
from shared.sms.records import INVALID_NUMBER, NOT_SENT, Claim, RecipientResult
from shared.sms.request import RecipientResolver, Recipients, SmsRequest
from shared.sms.store import IdempotencyStore

logger = logging.getLogger(__name__)

# Results are stored when the record completes or is released, and every few seconds on the
# way for large requests. A crash before they are stored only makes the retry repeat those
# sends under the same repeatability ids, which ACS drops within its 5-minute window.
CHECKPOINT_SECONDS = 5.0
# How long preparing the next page waits for the call just started to be on the wire (a new
# connection's handshake or a token fetch may come first); a wait that runs out only costs the
# overlap, never correctness (see SmsService._calls).
_SENT_WAIT_SECONDS = 0.05


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


def _pages(resolver: RecipientResolver, claim: Claim) -> Iterator[Page]:
    """The pages with someone to send to now, resolved one at a time. Pages are fixed slices
    of the sendable recipients, so a retry resends within the same pages."""
    for index in itertools.count():
        numbers = resolver.sendable(index * MAX_PER_CALL, (index + 1) * MAX_PER_CALL)
        if not numbers:
            return
        batch = [Outgoing(to=n, request_id=claim.request_id(n, attempt),
                          first_sent=claim.first_sent[attempt], attempt=attempt)
                 for n, attempt in due(numbers, claim.results)]
        if batch:
            yield Page(index, numbers, batch)


class SmsService:
    def __init__(self, sender: str | None, client: SmsClient, store: IdempotencyStore, *,
                 allowed_regions: frozenset[str] = frozenset(), concurrency: int = 1) -> None:
        self._sender = sender
        self._client = client
        self._store = store
        self._allowed_regions = allowed_regions
        self._concurrency = max(1, concurrency)

    def send(self, request: SmsRequest, *, scope: str, key: str | None) -> SmsOutcome:
        """Send `request` at most once per recipient for (scope, key); without a key, once.

        Recipients are resolved only when something is to be sent: the replay of a completed
        key is answered from its record alone. With a country allowlist every number is
        checked before anything is written or sent; without one, numbers are parsed page by
        page while the earlier pages' ACS calls are in flight.
        """
        content = self._content(request)
        resolver = RecipientResolver(request.to, self._allowed_regions)
        # Without an allowlist no number is refused: nothing to check before the claim.
        prepare = resolver.finish if self._allowed_regions else None
        if key is None:
            if prepare is not None:
                prepare()
            claim = self._store.ephemeral()
        else:
            claim = self._store.claim(scope, key, request.fingerprint(), prepare=prepare)
        if claim.completed:
            logger.info("SMS request replayed from its idempotency record; nothing sent")
            if claim.replayed is not None:
                return SmsOutcome(claim.replayed)
            return self._outcome(request.resolve(self._allowed_regions), claim)
        try:
            self._send_due(resolver, content, claim)
            recipients = resolver.finish()
            outcome = self._outcome(recipients, claim)
            if outcome.retryable_count:
                self._store.release(claim)
            else:
                # Kept so that a replay rebuilds the outcome without parsing a number.
                claim.invalid = recipients.invalid_positions()
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

    def _send_due(self, resolver: RecipientResolver, content: SmsContent, claim: Claim) -> None:
        # Every attempt a send may use has its repeatabilityFirstSent stored before anything
        # is sent: a recorded retryable failure at attempt n is resent as attempt n + 1.
        self._store.extend_attempts(claim, 1 + max(
            (r.attempt + 1 for r in claim.results.values() if r.retryable), default=0))
        failure: SendFailed | None = None
        saved = time.monotonic()
        calls = sent = 0
        for page, outcome in self._calls(content, _pages(resolver, claim)):
            if isinstance(outcome, SendFailed):
                failure = failure or outcome
                if not outcome.may_have_sent:
                    self._record_not_sent(claim, page, outcome.status)
            elif outcome is None:  # never started: an earlier call failed
                self._record_not_sent(claim, page, failure.status if failure else 503)
            else:
                claim.record(page.index, page.numbers, outcome)
                calls, sent = calls + 1, sent + len(outcome)
            if time.monotonic() - saved >= CHECKPOINT_SECONDS:
                self._store.checkpoint(claim)
                saved = time.monotonic()
        logger.info("SMS request: %d recipients sent to in %d ACS calls", sent, calls)
        if failure is not None:
            raise failure.error

    def _calls(self, content: SmsContent, work: Iterator[Page]
               ) -> Iterator[tuple[Page, list[RecipientResult] | SendFailed | None]]:
        """Each page's send call, at most `concurrency` at once, answered as they complete;
        after a whole-call failure no new call starts (those pages answer None). The page
        after the last one started is prepared while the calls are in flight."""
        with ThreadPoolExecutor(max_workers=self._concurrency,
                                thread_name_prefix="sms-send") as pool:
            running: dict[Future[list[RecipientResult]], Page] = {}
            ahead = next(work, None)

            def start_next() -> None:
                nonlocal ahead
                if ahead is not None:
                    sent = threading.Event()
                    # A copy of the context, so tracing spans and the like follow the call.
                    running[pool.submit(contextvars.copy_context().run, self._send, content,
                                        ahead.batch, sent)] = ahead
                    # The next page is prepared once this call is on the wire: prepared at
                    # once, it would hold the interpreter lock the call needs to be sent.
                    sent.wait(_SENT_WAIT_SECONDS)
                    ahead = next(work, None)

            for _ in range(self._concurrency):
                start_next()
            failed = False
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    page = running.pop(future)
                    try:
                        yield page, future.result()
                    except SendFailed as failure:
                        failed = True
                        yield page, failure
                    if not failed:
                        start_next()
        if ahead is not None:
            yield ahead, None
        for page in work:
            yield page, None

    def _send(self, content: SmsContent, batch: list[Outgoing], sent: threading.Event
              ) -> list[RecipientResult]:
        """One page's call, on a sending thread; `sent` is set once the request has left
        whole (the shared transport says so), or at the latest when the call ends."""
        request_written.set(sent.set)  # this call's own context: see _calls
        try:
            return self._client.send(content, batch)
        finally:
            sent.set()

    @staticmethod
    def _record_not_sent(claim: Claim, page: Page, status: int) -> None:
        """Record a page whose call surely sent nothing as not sent, so the next try sends it
        as a new attempt with a fresh repeatabilityFirstSent: left without a result, a try
        more than 5 minutes later would repeat the old one and ACS answer 412.

        Only recipients of attempts this invocation created: one numbered earlier may have
        been sent by a try that died before recording it, so it keeps its repeatability id.
        """
        unsent = [RecipientResult(o.to, False, status, error=NOT_SENT, attempt=o.attempt)
                  for o in page.batch if o.attempt >= claim.fresh_from]
        if unsent:
            claim.record(page.index, page.numbers, unsent)

    @staticmethod
    def _outcome(recipients: Recipients, claim: Claim) -> SmsOutcome:
        results = []
        for number in recipients.numbers:
            if number in recipients.invalid:
                results.append(RecipientResult(number, False, 400, error=INVALID_NUMBER))
            else:
                results.append(claim.results.get(number)
                               or RecipientResult(number, False, 503, error=NOT_SENT))
        return SmsOutcome(tuple(results))


@dataclass(frozen=True)
class Page:
    """One fixed slice of the sendable recipients, and those of it to send now."""

    index: int
    numbers: Sequence[str]
    batch: list[Outgoing]
