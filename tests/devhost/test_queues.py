"""The local host's queue triggers against Azurite: encoding, retries, poison, outputs."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from devhost.host import LocalHost
from tests.devhost.apps import AppFolder, read_records, wait_for

StartHost = Callable[..., LocalHost]

# Records each invocation, fails while FAIL_TIMES says so, and forwards the body upper-cased.
RECORDING = """
import json
import os
import azure.functions as func

def main(msg: func.QueueMessage, out: func.Out[str]) -> None:
    record = os.environ["RECORD_FILE"]
    with open(record, "a") as handle:
        handle.write(json.dumps({
            "id": msg.id,
            "body": msg.get_body().decode("latin-1"),
            "dequeue_count": msg.dequeue_count,
            "has_times": all([msg.insertion_time, msg.expiration_time, msg.time_next_visible]),
            "pop_receipt": bool(msg.pop_receipt),
        }) + "\\n")
    out.set(msg.get_body().decode().upper())
    with open(record) as handle:
        calls = len(handle.readlines())
    if calls <= int(os.environ.get("FAIL_TIMES", "0")):
        raise RuntimeError("failing on purpose")
"""


@pytest.fixture
def queues(azurite: dict[str, str]) -> dict[str, QueueClient]:
    """Fresh, uniquely named trigger, output and poison queues in the session's Azurite."""
    name = f"t{uuid.uuid4().hex[:12]}"
    connection = azurite["AZURITE_CONNECTION_STRING"]
    return {
        kind: QueueClient.from_connection_string(connection, queue)
        for kind, queue in (
            ("in", name), ("out", f"{name}-out"), ("poison", f"{name}-poison")
        )
    }


def _queue_app(
    app: AppFolder, queues: dict[str, QueueClient], **options: Any
) -> dict[str, str]:
    app.host_json(queues={"maxPollingInterval": "00:00:00.200", **options})
    app.function("Worker", [
        {"type": "queueTrigger", "direction": "in", "name": "msg",
         "queueName": "%IN_QUEUE%", "connection": "AzureWebJobsStorage"},
        {"type": "queue", "direction": "out", "name": "out", "queueName": "%OUT_QUEUE%"},
    ], RECORDING)
    return {"IN_QUEUE": queues["in"].queue_name, "OUT_QUEUE": queues["out"].queue_name,
            "RECORD_FILE": str(app.root / "records.jsonl")}


def _contents(client: QueueClient) -> list[str]:
    """What a queue holds now; a queue nobody has written to yet holds nothing."""
    try:
        return [m.content for m in client.peek_messages(max_messages=32)]
    except ResourceNotFoundError:
        return []


def _records(app: AppFolder) -> list[Any]:
    return read_records(app.root / "records.jsonl")


def test_queue_base64_message_decoded_and_output_written(
    app: AppFolder, queues: dict[str, QueueClient], start_host: StartHost
) -> None:
    settings = _queue_app(app, queues)
    start_host(app, settings)

    queues["in"].send_message(base64.b64encode(b"hello queue").decode())

    output = wait_for(lambda: _contents(queues["out"]), what="the output message")
    assert output == [base64.b64encode(b"HELLO QUEUE").decode()]
    record = _records(app)[0]
    assert record["body"] == "hello queue"
    assert record["dequeue_count"] == 1
    assert record["has_times"] and record["pop_receipt"] and record["id"]
    wait_for(lambda: not _contents(queues["in"]) or None, what="the trigger message deleted")


def test_queue_encoding_none_passes_text_unchanged(
    app: AppFolder, queues: dict[str, QueueClient], start_host: StartHost
) -> None:
    settings = _queue_app(app, queues, messageEncoding="none")
    start_host(app, settings)

    queues["in"].send_message("plain text")

    assert wait_for(lambda: _contents(queues["out"]), what="output") == ["PLAIN TEXT"]


def test_queue_failure_retried_after_visibility_timeout_with_dequeue_count(
    app: AppFolder, queues: dict[str, QueueClient], start_host: StartHost
) -> None:
    settings = _queue_app(app, queues, visibilityTimeout="00:00:01", maxDequeueCount=3)
    start_host(app, {**settings, "FAIL_TIMES": "1"})

    queues["in"].send_message(base64.b64encode(b"retry me").decode())

    output = wait_for(lambda: _contents(queues["out"]), what="the output after a retry")
    records = _records(app)
    assert [r["dequeue_count"] for r in records] == [1, 2]
    # The failed attempt's output was dropped; only the successful run's output was sent.
    assert output == [base64.b64encode(b"RETRY ME").decode()]
    assert _contents(queues["poison"]) == []


def test_queue_failing_max_dequeue_count_times_moves_to_poison(
    app: AppFolder, queues: dict[str, QueueClient], start_host: StartHost
) -> None:
    settings = _queue_app(app, queues, visibilityTimeout="00:00:00", maxDequeueCount=2)
    start_host(app, {**settings, "FAIL_TIMES": "99"})
    content = base64.b64encode(b"always fails").decode()

    queues["in"].send_message(content)

    assert wait_for(lambda: _contents(queues["poison"]), what="the poison message") == [content]
    assert [r["dequeue_count"] for r in _records(app)] == [1, 2]
    assert _contents(queues["in"]) == []
    assert _contents(queues["out"]) == []


def test_queue_invalid_base64_moves_to_poison_without_invoking(
    app: AppFolder, queues: dict[str, QueueClient], start_host: StartHost
) -> None:
    settings = _queue_app(app, queues)
    start_host(app, settings)

    queues["in"].send_message("{not base64}")

    assert wait_for(lambda: _contents(queues["poison"]), what="poison") == ["{not base64}"]
    assert _records(app) == []


def test_queue_batch_of_messages_each_processed_once(
    app: AppFolder, queues: dict[str, QueueClient], start_host: StartHost
) -> None:
    settings = _queue_app(app, queues, batchSize=4)
    start_host(app, settings)
    bodies = [f"m{i}".encode() for i in range(10)]

    for body in bodies:
        queues["in"].send_message(base64.b64encode(body).decode())

    wait_for(lambda: len(_records(app)) >= 10 or None, what="ten invocations")
    wait_for(lambda: len(_contents(queues["out"])) == 10 or None, what="ten outputs")
    assert sorted(r["body"] for r in _records(app)) == sorted(b.decode() for b in bodies)


def test_queue_http_function_output_binding_written(
    app: AppFolder, queues: dict[str, QueueClient], start_host: StartHost
) -> None:
    app.http_function("Enqueue", """
        import azure.functions as func

        def main(req: func.HttpRequest, outbox: func.Out[str]) -> str:
            outbox.set(req.get_body().decode())
            return "queued"
    """, extra=[{"type": "queue", "direction": "out", "name": "outbox",
                 "queueName": queues["out"].queue_name}])
    host = start_host(app)

    assert requests.post(f"{host.url}/api/enqueue", data=b"via http", timeout=10).ok
    assert _contents(queues["out"]) == [base64.b64encode(b"via http").decode()]
