"""Queue trigger on sms-outbox: send the message's SMS once, or dead-letter it with the reason."""

from __future__ import annotations

import azure.functions as func

from shared.services import get_services
from shared.sms.queue import handle_outbox_message


def main(msg: func.QueueMessage, deadletter: func.Out[str]) -> None:
    handle_outbox_message(msg, deadletter, get_services())
