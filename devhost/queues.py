"""Storage queue triggers and queue output bindings, against Azurite or a storage account.

Follows the queue extension's documented behaviour: base64 message encoding by default,
polling with backoff up to maxPollingInterval, visibilityTimeout between retries, and the
`<queue>-poison` queue once a message has been dequeued maxDequeueCount times.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import math
import re
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.functions as func
from azure.core.exceptions import AzureError, ResourceExistsError
from azure.functions.queue import QueueMessage as TriggerMessage
from azure.storage.queue import QueueClient
from azure.storage.queue import QueueMessage as StoredMessage

from devhost.app import AppError, QueueOptions
from devhost.invocation import Invocable, Outcome

logger = logging.getLogger(__name__)

_EXPRESSION = re.compile(r"%([^%]+)%")
# While a message is processed it stays invisible this long, as the host's default.
_PROCESSING_VISIBILITY = 600
_MIN_POLL = 0.1


def resolve_setting_expressions(value: str, settings: Mapping[str, str]) -> str:
    """Replace `%NAME%` with the app setting NAME, as binding expressions do."""

    def lookup(match: re.Match[str]) -> str:
        if match.group(1) not in settings:
            raise AppError(f"binding expression %{match.group(1)}% names no app setting")
        return settings[match.group(1)]

    return _EXPRESSION.sub(lookup, value)


def connection_string(name: str | None, settings: Mapping[str, str]) -> str:
    """The connection named by a binding's `connection`, default AzureWebJobsStorage."""
    name = name or "AzureWebJobsStorage"
    value = settings.get(name) or settings.get(f"AzureWebJobs{name}")
    if not value:
        raise AppError(
            f"connection setting {name} is not set (identity-based connections such as "
            f"{name}__queueServiceUri are not supported by the local host)"
        )
    return value


def encode(body: bytes, encoding: str) -> str:
    return base64.b64encode(body).decode("ascii") if encoding == "base64" else body.decode()


def decode(content: str, encoding: str) -> bytes:
    """The message body as the function sees it; ValueError if it is not valid base64."""
    if encoding != "base64":
        return content.encode("utf-8")
    try:
        return base64.b64decode(content, validate=True)
    except binascii.Error as error:
        raise ValueError("the message is not valid base64") from error


def _message_bodies(value: Any) -> list[bytes]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value.encode("utf-8")]
    if isinstance(value, bytes):
        return [value]
    if isinstance(value, func.QueueMessage):
        return [value.get_body()]
    if isinstance(value, list | tuple):
        return [body for item in value for body in _message_bodies(item)]
    raise TypeError(f"a queue output binding takes str, bytes or QueueMessage, not {type(value)}")


class QueueClients:
    """One QueueClient per (connection, queue), each queue created on first use."""

    def __init__(self, settings: Mapping[str, str], encoding: str) -> None:
        self.settings = settings
        self.encoding = encoding
        self._clients: dict[tuple[str, str], QueueClient] = {}
        self._lock = threading.Lock()

    def get(self, binding: Mapping[str, Any]) -> QueueClient:
        name = resolve_setting_expressions(str(binding["queueName"]), self.settings).lower()
        return self.named(name, binding.get("connection"))

    def named(self, name: str, connection: str | None) -> QueueClient:
        key = (connection or "AzureWebJobsStorage", name)
        with self._lock:
            if key not in self._clients:
                client = QueueClient.from_connection_string(
                    connection_string(connection, self.settings), name
                )
                with contextlib.suppress(ResourceExistsError):
                    client.create_queue()
                self._clients[key] = client
            return self._clients[key]

    def write_outputs(self, function: Invocable, outcome: Outcome) -> None:
        """Send what the function set on its queue output bindings (after it succeeded)."""
        for binding in function.spec.outputs:
            if binding.get("type") != "queue":
                continue
            bodies = _message_bodies(outcome.outputs.get(str(binding["name"])))
            if bodies:
                client = self.get(binding)
                for body in bodies:
                    client.send_message(encode(body, self.encoding))


class QueueListener:
    """Polls one function's trigger queue and runs the function for each message."""

    def __init__(
        self, function: Invocable, *, clients: QueueClients, options: QueueOptions
    ) -> None:
        self.function = function
        self.clients = clients
        self.options = options
        trigger = function.spec.trigger
        self.queue = clients.get(trigger)
        self.poison_name = f"{self.queue.queue_name}-poison"
        self.connection = trigger.get("connection")
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"devhost-queue-{function.spec.name}", daemon=True
        )
        self._workers = ThreadPoolExecutor(
            max_workers=options.batch_size, thread_name_prefix=f"devhost-{function.spec.name}"
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self._workers.shutdown(wait=True)

    def _run(self) -> None:
        delay = _MIN_POLL
        while not self._stop.is_set():
            try:
                batch = list(self.queue.receive_messages(
                    max_messages=self.options.batch_size,
                    messages_per_page=self.options.batch_size,
                    visibility_timeout=_PROCESSING_VISIBILITY,
                ))
            except AzureError as error:
                logger.warning("polling %s failed: %s", self.queue.queue_name, error)
                batch = []
            if batch:
                delay = _MIN_POLL
                list(self._workers.map(self._process, batch))
                continue
            # An empty queue is polled less and less often, up to maxPollingInterval.
            self._stop.wait(delay)
            delay = min(delay * 2, self.options.max_polling_interval)

    def _poison(self, message: StoredMessage, reason: str) -> None:
        logger.error(
            "message %s on %s moved to %s: %s",
            message.id, self.queue.queue_name, self.poison_name, reason,
        )
        self.clients.named(self.poison_name, self.connection).send_message(message.content)
        self.queue.delete_message(message)

    def _process(self, message: StoredMessage) -> None:
        try:
            self._handle(message)
        except AzureError:
            # The message reappears after its processing visibility and is tried again.
            logger.exception("storage failed while handling message %s", message.id)

    def _handle(self, message: StoredMessage) -> None:
        options = self.options
        try:
            body = decode(message.content, options.message_encoding)
        except ValueError:
            # As the queue extension does for a message it cannot decode: poison at once.
            self._poison(message, "its content is not valid base64")
            return
        dequeue_count = message.dequeue_count or 1
        if dequeue_count > options.max_dequeue_count:
            self._poison(message, f"dequeued {dequeue_count} times")
            return
        trigger = TriggerMessage(  # type: ignore[no-untyped-call]
            id=message.id,
            body=body,
            dequeue_count=dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )
        try:
            outcome = self.function.invoke(trigger)
            self.clients.write_outputs(self.function, outcome)
        except Exception:
            logger.exception(
                "%s failed on message %s (dequeue count %d)",
                self.function.spec.name, message.id, dequeue_count,
            )
            if dequeue_count >= options.max_dequeue_count:
                self._poison(message, f"failed {dequeue_count} times")
            else:
                self.queue.update_message(
                    message, visibility_timeout=math.ceil(options.visibility_timeout)
                )
            return
        self.queue.delete_message(message)
