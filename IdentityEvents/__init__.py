"""Queue trigger on identity-events: revoke or delete a user's identity, or dead-letter."""

from __future__ import annotations

import azure.functions as func

from shared.identity.events import handle_event_message
from shared.services import get_services


def main(msg: func.QueueMessage, deadletter: func.Out[str]) -> None:
    handle_event_message(msg, deadletter, get_services())
