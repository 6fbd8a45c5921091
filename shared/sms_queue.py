"""The sms-outbox queue's one decision: send, dead-letter a message that can never succeed, or
raise so the host retries (and after maxDequeueCount moves the message to its poison queue).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from typing import Any

import azure.functions as func

from shared.errors import ServiceError, UnprocessableContent, UpstreamUnavailable, ValidationError
from shared.services import Services
from shared.sms_request import SmsRequest, parse_idempotency_key

logger = logging.getLogger(__name__)

QUEUE_SCOPE = "queue\nsms-outbox"
# A queue message holds at most 64 KiB, less after base64: the copy of the body must fit.
BODY_COPY_MAX = 32 * 1024


def handle_outbox_message(msg: func.QueueMessage, deadletter: func.Out[str],
                          services: Services) -> None:
    try:
        request, key = _parse(msg, services)
        outcome = services.sms.send(request, scope=QUEUE_SCOPE, key=key)
    except (ValidationError, UnprocessableContent) as error:
        deadletter.set(json.dumps(dead_letter(msg, error)))
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
        body = json.loads(msg.get_body().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValidationError("The message is not UTF-8 JSON.") from exc
    key = parse_idempotency_key(body.get("idempotencyKey") if isinstance(body, dict) else None,
                                pointer="/idempotencyKey")
    request = SmsRequest.parse(body, services.settings, extra_fields=frozenset({"idempotencyKey"}))
    key = key or msg.id
    if not key:
        raise ValidationError("The message has neither an idempotencyKey nor a message id.")
    return request, key


def dead_letter(msg: func.QueueMessage, error: ServiceError) -> dict[str, Any]:
    """The dead-letter document: why, which message, and its body (never a stack trace)."""
    raw = msg.get_body()
    try:
        raw.decode("utf-8")
        # Cut at a byte bound; a character split there is dropped rather than mangled.
        body, encoding = raw[:BODY_COPY_MAX].decode("utf-8", errors="ignore"), "utf-8"
    except UnicodeDecodeError:
        body, encoding = base64.b64encode(raw[:BODY_COPY_MAX]).decode("ascii"), "base64"
    return {
        "reason": error.detail,
        "errors": [e.to_json() for e in error.errors],
        "messageId": msg.id,
        "dequeueCount": msg.dequeue_count,
        "deadLetteredAt": dt.datetime.now(dt.UTC).isoformat(),
        "body": body,
        "bodyEncoding": encoding,
        "bodyTruncated": len(raw) > BODY_COPY_MAX,
    }
