"""The Python worker process of the local host: azure-functions-runtime-v1 behind a pipe.

Stands where the worker's gRPC stream would be: length-prefixed FunctionRpc
`StreamingMessage`s come in on stdin, go to the runtime's entry points, and the responses
and the process's log records go back on the original stdout; `print` goes to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import struct
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import IO, Any

logger = logging.getLogger(__name__)

LOG_LEVELS_VARIABLE = "DEVHOST_WORKER_LOG_LEVELS"
_LENGTH = struct.Struct(">I")

# Python logging levels -> RpcLog.Level values (Debug 1 ... Critical 5).
_RPC_LEVELS = {
    logging.DEBUG: 1, logging.INFO: 2, logging.WARNING: 3, logging.ERROR: 4,
    logging.CRITICAL: 5,
}


def read_frame(stream: IO[bytes]) -> bytes | None:
    """One length-prefixed message, or None at end of stream."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(header)
    body = stream.read(size)
    return body if len(body) == size else None


def write_frame(stream: IO[bytes], body: bytes) -> None:
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


class RuntimeRequest:
    """What the runtime's entry points take: the message and the worker's properties."""

    def __init__(self, message: Any, properties: dict[str, Any]) -> None:
        self.request = message
        self.properties = properties


class _Channel:
    """The way back to the host: responses and log records, one frame at a time."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: Any) -> None:
        body = message.SerializeToString()
        with self._lock:
            write_frame(self._stream, body)


class _RpcLogHandler(logging.Handler):
    """Sends every log record to the host as an RpcLog, as the worker does over gRPC."""

    def __init__(self, channel: _Channel, protos: Any) -> None:
        super().__init__()
        self._channel = channel
        self._protos = protos
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            log = self._protos.RpcLog(
                category=record.name, level=_RPC_LEVELS.get(record.levelno, 2),
                message=self.format(record),
            )
            self._channel.send(self._protos.StreamingMessage(rpc_log=log))
        except Exception:  # noqa: BLE001 - logging must never break a function
            self.handleError(record)


def _configure_logging(channel: _Channel, protos: Any) -> None:
    root = logging.getLogger()
    root.handlers[:] = [_RpcLogHandler(channel, protos)]
    levels: dict[str, int] = json.loads(os.environ.get(LOG_LEVELS_VARIABLE) or "{}")
    for name, level in levels.items():
        logging.getLogger(name or None).setLevel(level)


def runtime_handlers(runtime: Any) -> dict[str, tuple[Callable[[Any], Awaitable[Any]], str]]:
    return {
        "worker_init_request": (runtime.worker_init_request, "worker_init_response"),
        "functions_metadata_request": (
            runtime.functions_metadata_request, "function_metadata_response"),
        "function_load_request": (runtime.function_load_request, "function_load_response"),
        "invocation_request": (runtime.invocation_request, "invocation_response"),
    }


def add_app_root(message: Any) -> None:
    """At init the worker puts the app root at the end of sys.path, after installed packages."""
    if message.WhichOneof("content") == "worker_init_request":
        root = message.worker_init_request.function_app_directory
        if root and root not in sys.path:
            sys.path.append(root)


async def _serve(channel: _Channel, source: IO[bytes], runtime: Any, protos: Any) -> None:
    loop = asyncio.get_running_loop()
    handlers = runtime_handlers(runtime)
    properties = {"protos": protos, "host": "devhost"}
    pending: set[asyncio.Task[None]] = set()

    async def handle(message: Any) -> None:
        kind = message.WhichOneof("content")
        add_app_root(message)
        if kind not in handlers:
            logger.warning("the worker process does not handle %s messages", kind)
            return
        handler, reply = handlers[kind]
        response = await handler(RuntimeRequest(message, properties))
        channel.send(protos.StreamingMessage(request_id=message.request_id, **{reply: response}))

    while (frame := await loop.run_in_executor(None, read_frame, source)) is not None:
        message = protos.StreamingMessage.FromString(frame)
        task = asyncio.create_task(handle(message))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending)


def main() -> int:
    # The protocol keeps the real stdout; whatever functions print goes to stderr.
    output = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    channel = _Channel(output)

    import azure_functions_runtime_v1 as runtime

    from devhost.rpc import protos

    # Only the app root (appended at init) should add to the import path, as in Azure.
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)
    _configure_logging(channel, protos)
    runtime.start_threadpool_executor()
    try:
        asyncio.run(_serve(channel, sys.stdin.buffer, runtime, protos))
    finally:
        runtime.stop_threadpool_executor()
    return 0


if __name__ == "__main__":
    sys.exit(main())
