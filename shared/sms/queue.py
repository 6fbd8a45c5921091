"""The sms-outbox queue's one decision: send, dead-letter a message that can never succeed, or
raise so the host retries (and after maxDequeueCount moves the message to its poison queue).
"""

from __future__ import annotations

import logging

import azure.functions as func

from shared.edge.queue import dead_letter
from shared.edge.strict_json import NotStrictJson, parse_json
from shared.errors import UnprocessableContent, UpstreamUnavailable, ValidationError
from shared.services import Services
from shared.sms.request import SmsRequest, parse_idempotency_key

logger = logging.getLogger(__name__)

QUEUE_SCOPE = "queue\nsms-outbox"


def handle_outbox_message(msg: func.QueueMessage, deadletter: func.Out[str],
                          services: Services) -> None:
    try:
        request, key = _parse(msg, services)
        outcome = services.sms.send(request, scope=QUEUE_SCOPE, key=key)
    except (ValidationError, UnprocessableContent) as error:
        deadletter.set(dead_letter(msg, error))
        logger.warning("sms-outbox message %s dead-lettered: %s", msg.id, error.detail)
        return
    if outcome.retryable_count:
        # The host redelivers the message; the record makes the retry send only these.
        raise UpstreamUnavailable(
            f"{outcome.retryable_count} recipient(s) were throttled or failed in ACS; retrying."
        )
    logger.info("sms-outbox message %s done: %d of %d recipients accepted", msg.id,
                sum(r.successful for r in outcome.results), len(outcome.results))


def _parse(msg: func.QueueMessage, services: Services) -> tuple[SmsRequest, str]:
    try:
        body = parse_json(msg.get_body())
    except NotStrictJson as exc:
        # The same reader as the HTTP edge: what SendSms refuses is dead-lettered here.
        raise ValidationError("The message is not UTF-8 JSON.") from exc
    key = parse_idempotency_key(body.get("idempotencyKey") if isinstance(body, dict) else None,
                                pointer="/idempotencyKey")
    request = SmsRequest.parse(body, services.settings, extra_fields=frozenset({"idempotencyKey"}))
    key = key or msg.id
    if not key:
        raise ValidationError("The message has neither an idempotencyKey nor a message id.")
    return request, key
