"""Helpers for SMS tests: numbers, queue messages, and an output binding instance."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
from azure.functions.queue import QueueMessage


class Output(func.Out[str]):
    """An output binding parameter: azure.functions ships only the protocol, not an instance."""

    def __init__(self) -> None:
        self.value: str | None = None

    def set(self, val: str) -> None:
        self.value = val

    def get(self) -> str | None:  # type: ignore[override]
        return self.value


def numbers(count: int, start: int = 0) -> list[str]:
    """Distinct valid US numbers (phonenumbers and the emulator both accept them)."""
    return [f"+1425555{i:04d}" for i in range(start, start + count)]


def queue_message(body: Any, *, id: str = "msg-1", dequeue_count: int = 1) -> QueueMessage:
    """A trigger message as the Python worker builds it (the class that has dequeue_count)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return QueueMessage(id=id, body=raw, dequeue_count=dequeue_count)  # type: ignore[no-untyped-call]


def sent_to(outbox: list[dict[str, Any]]) -> list[str]:
    return sorted(entry["to"] for entry in outbox)
