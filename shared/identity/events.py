"""The identity-events queue: offboarding driven by the app's own account system.

A message `{"action": "revoke" | "delete", "userKey": "oid:..." | "sub:..."}` revokes or
deletes that user's identity; both are idempotent, so a redelivered message is harmless. A
message that can never succeed goes to the dead-letter queue with the reason; a transient
failure raises, so the host retries it (and after maxDequeueCount moves it to poison).
"""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

from shared.edge.queue import dead_letter
from shared.edge.strict_json import NotStrictJson, parse_json
from shared.errors import FieldError, ValidationError
from shared.identity.lifecycle import parse_user_key
from shared.services import Services

logger = logging.getLogger(__name__)

ACTIONS = ("revoke", "delete")


def parse_event(body: bytes) -> tuple[str, str]:
    """The message's action and user key; ValidationError names every problem."""
    try:
        # The same strict reader as the HTTP edge and sms-outbox: no duplicate keys (which
        # "action" would count?), no NaN, no lone surrogates.
        event: Any = parse_json(body)
    except NotStrictJson as exc:
        raise ValidationError("The message is not strict UTF-8 JSON.") from exc
    if not isinstance(event, dict):
        raise ValidationError("The message must be a JSON object.")
    problems = [FieldError(f"/{key}", "Unknown field.") for key in event
                if key not in ("action", "userKey")]
    action = event.get("action")
    if action not in ACTIONS:
        problems.append(FieldError("/action", "Must be 'revoke' or 'delete'."))
    user_key = event.get("userKey")
    try:
        parse_user_key(user_key if isinstance(user_key, str) else None)
    except ValidationError as error:
        problems.append(FieldError("/userKey", error.detail))
    if problems:
        raise ValidationError("The identity event is not valid.", errors=tuple(problems))
    return str(action), str(user_key)


def handle_event_message(msg: func.QueueMessage, deadletter: func.Out[str],
                         services: Services) -> None:
    try:
        action, user_key = parse_event(msg.get_body())
    except ValidationError as error:
        deadletter.set(dead_letter(msg, error))
        logger.warning("identity-events message %s dead-lettered: %s", msg.id, error.detail)
        return
    lifecycle = services.lifecycle
    user = lifecycle.user(user_key)
    found = lifecycle.revoke(user) if action == "revoke" else lifecycle.delete(user)
    logger.info("identity-events message %s: %s %s", msg.id, action,
                "done" if found else "(the user had no identity)")
