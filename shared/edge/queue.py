"""The queue edge: the dead-letter document for a message that can never succeed, sized to fit
one queue message, shared by every queue trigger.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import azure.functions as func

from shared.errors import ServiceError

# A queue message holds at most 64 KiB, and the host base64-encodes what the output binding
# gets (4 characters per 3 bytes): the dead-letter document must stay within 48 KiB of UTF-8,
# here with a margin. Field errors may take up to a third of it, the copy of the body the rest.
DEAD_LETTER_MAX_BYTES = 46 * 1024
ERRORS_MAX_BYTES = DEAD_LETTER_MAX_BYTES // 3


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
