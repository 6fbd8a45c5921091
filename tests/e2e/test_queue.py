"""The queue-triggered SMS function through the local host: outbox to SMS, or dead-letter."""

from __future__ import annotations

import base64
import json

from azure.storage.queue import QueueClient

from emulator.client import EmulatorClient
from tests.devhost.apps import wait_for
from tests.e2e.conftest import Functions


def _put(client: QueueClient, body: bytes) -> None:
    # The Functions host's default messageEncoding is base64; so is this app's host.json.
    client.send_message(base64.b64encode(body).decode())


def _peek(client: QueueClient) -> list[str]:
    return [m.content for m in client.peek_messages(max_messages=32)]


def test_e2e_outbox_message_sent_by_emulator(
    functions: Functions, emulator: EmulatorClient, outbox_queues: dict[str, QueueClient]
) -> None:
    body = {"to": "+14255550199", "message": "e2e from the queue",
            "idempotencyKey": "e2e-queue-1"}

    _put(outbox_queues["sms-outbox"], json.dumps(body).encode())

    sent = wait_for(emulator.sms, timeout=30, what=f"the SMS\n{functions.log_tail()}")
    assert len(sent) == 1
    assert "e2e from the queue" in str(sent[0]) and "+14255550199" in str(sent[0])
    wait_for(lambda: not _peek(outbox_queues["sms-outbox"]) or None, what="the outbox empty")
    assert _peek(outbox_queues["sms-outbox-deadletter"]) == []


def test_e2e_malformed_outbox_message_dead_lettered_not_sent(
    functions: Functions, emulator: EmulatorClient, outbox_queues: dict[str, QueueClient]
) -> None:
    _put(outbox_queues["sms-outbox"], b'{"to": "+14255550199", "message": ')

    dead = wait_for(
        lambda: _peek(outbox_queues["sms-outbox-deadletter"]), timeout=30,
        what=f"the dead-letter message\n{functions.log_tail()}",
    )
    assert len(dead) == 1
    assert emulator.sms() == []
    assert _peek(outbox_queues["sms-outbox-poison"]) == []
