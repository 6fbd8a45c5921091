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
from shared.strict_json import NotStrictJson, parse_json

logger = logging.getLogger(__name__)

QUEUE_SCOPE = "queue\nsms-outbox"
# A queue message holds at most 64 KiB, and the host base64-encodes what the output binding
# gets (4 characters per 3 bytes): the dead-letter document must stay within 48 KiB of UTF-8,
# here with a margin. Field errors may take up to a third of it, the copy of the body the rest.
DEAD_LETTER_MAX_BYTES = 46 * 1024
ERRORS_MAX_BYTES = DEAD_LETTER_MAX_BYTES // 3


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


def dead_letter(msg: func.QueueMessage, error: ServiceError) -> str:
    """The dead-letter document (JSON): why, which message, and as much of its body as fits
    in one queue message (never a stack trace)."""
    raw = msg.get_body()
    try:
        text: str | None = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    errors = [e.to_json() for e in error.errors]
    kept = _fitting(errors, ERRORS_MAX_BYTES)
    document: dict[str, Any] = {
        "reason": error.detail,
        "errors": errors[:kept],
        "errorsTruncated": kept < len(errors),
        "messageId": msg.id,
        "dequeueCount": msg.dequeue_count,
        "deadLetteredAt": dt.datetime.now(dt.UTC).isoformat(),
        "body": "",
        "bodyEncoding": "utf-8" if text is not None else "base64",
        "bodyTruncated": False,  # sized as "false", the longer of the two
    }
    room = DEAD_LETTER_MAX_BYTES - _size(document)
    if text is not None:
        body = _json_prefix(text, room)
    else:
        body = base64.b64encode(raw[:room // 4 * 3]).decode("ascii")
    document["body"] = body
    document["bodyTruncated"] = len(body) < (len(text) if text is not None
                                             else len(base64.b64encode(raw)))
    return _dumps(document)


def _dumps(value: Any) -> str:
    # Not ASCII-escaped: "\u20ac" would take 6 bytes where UTF-8 takes 3.
    return json.dumps(value, ensure_ascii=False)


def _size(value: Any) -> int:
    return len(_dumps(value).encode("utf-8"))


def _fitting(items: list[dict[str, str]], budget: int) -> int:
    """How many of `items`, from the first, fit in `budget` bytes of JSON."""
    used = 2
    for count, item in enumerate(items):
        used += _size(item) + 2
        if used > budget:
            return count
    return len(items)


def _json_prefix(text: str, budget: int) -> str:
    """The longest prefix of `text` whose JSON string takes at most `budget` more UTF-8 bytes
    than an empty one (escapes counted: a control character takes 6 bytes)."""
    if _size(text) - 2 <= budget:
        return text
    used = 0
    for index, char in enumerate(text):
        used += _size(char) - 2
        if used > budget:
            return text[:index]
    return text
