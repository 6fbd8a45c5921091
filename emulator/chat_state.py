"""What the emulated Chat service remembers: threads with their participants, messages and read
receipts, and the repeatability record of thread creation. Times are epoch milliseconds."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def rfc3339(ms: int) -> str:
    """`2020-06-06T05:55:41.646Z`: millisecond precision, which every SDK parses."""
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def user_identifier(raw_id: str) -> dict[str, Any]:
    """The response form of a communication user: kind, rawId and the typed property."""
    return {"kind": "communicationUser", "rawId": raw_id, "communicationUser": {"id": raw_id}}


def _present(**fields: Any) -> dict[str, Any]:
    """The fields that have a value: ACS leaves an absent one out rather than sending null."""
    return {name: value for name, value in fields.items() if value is not None}


def _time_or_none(ms: int | None) -> str | None:
    return None if ms is None else rfc3339(ms)


@dataclass
class Participant:
    id: str
    display_name: str | None = None
    share_history_ms: int | None = None  # None: the whole history is shared

    def view(self) -> dict[str, Any]:
        return {"communicationIdentifier": user_identifier(self.id),
                **_present(displayName=self.display_name,
                           shareHistoryTime=_time_or_none(self.share_history_ms))}


@dataclass
class Message:
    id: str
    sequence_id: int
    type: str  # text, html, or a system type (topicUpdated, participantAdded, ...)
    created_ms: int
    version_ms: int
    sender: str | None = None  # None for system messages
    sender_display_name: str | None = None
    content: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    system_content: dict[str, Any] = field(default_factory=dict)
    edited_ms: int | None = None
    deleted_ms: int | None = None

    @property
    def changed_ms(self) -> int:
        return max(self.created_ms, self.edited_ms or 0, self.deleted_ms or 0)

    def view(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": self.id, "type": self.type, "sequenceId": str(self.sequence_id),
            "version": str(self.version_ms), "createdOn": rfc3339(self.created_ms),
            **_present(senderCommunicationIdentifier=None if self.sender is None
                       else user_identifier(self.sender),
                       senderDisplayName=self.sender_display_name),
        }
        if self.deleted_ms is not None:
            # A deleted message keeps its place in the history, without its content.
            result["deletedOn"] = rfc3339(self.deleted_ms)
            return result
        if self.sender is None:
            result["content"] = dict(self.system_content)
        else:
            result["content"] = {"message": self.content}
            if self.metadata:
                result["metadata"] = dict(self.metadata)
        return {**result, **_present(editedOn=_time_or_none(self.edited_ms))}


@dataclass
class ReadReceipt:
    message_id: str
    read_ms: int


@dataclass
class Typing:
    sender: str
    display_name: str | None
    sent_ms: int


@dataclass
class Thread:
    id: str
    topic: str
    created_ms: int
    created_by: str
    participants: dict[str, Participant] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)  # oldest first
    receipts: dict[str, ReadReceipt] = field(default_factory=dict)  # by reader
    typing: list[Typing] = field(default_factory=list)
    deleted_ms: int | None = None
    last_message_ms: int | None = None

    def properties(self) -> dict[str, Any]:
        return {
            "id": self.id, "topic": self.topic, "createdOn": rfc3339(self.created_ms),
            "createdByCommunicationIdentifier": user_identifier(self.created_by),
            **_present(deletedOn=_time_or_none(self.deleted_ms)),
        }

    def item(self) -> dict[str, Any]:
        return {"id": self.id, "topic": self.topic,
                **_present(deletedOn=_time_or_none(self.deleted_ms),
                           lastMessageReceivedOn=_time_or_none(self.last_message_ms))}

    @property
    def changed_ms(self) -> int:
        return max(self.created_ms, self.last_message_ms or 0, self.deleted_ms or 0)

    def add_message(self, message_type: str, *, sender: str | None = None, **fields: Any
                    ) -> Message:
        """Append a message; ids are creation times in ms, unique and rising within a thread."""
        stamp = now_ms()
        if self.messages:
            stamp = max(stamp, self.messages[-1].created_ms + 1)
        message = Message(id=str(stamp), sequence_id=len(self.messages) + 1, type=message_type,
                          created_ms=stamp, version_ms=stamp, sender=sender, **fields)
        self.messages.append(message)
        self.last_message_ms = stamp
        return message

    def find_message(self, message_id: str) -> Message | None:
        return next((m for m in self.messages if m.id == message_id), None)


@dataclass
class CreateRecord:
    """A thread creation remembered for its `repeatability-request-id`."""

    body: Any
    status: int
    result: dict[str, Any]
    location: str


@dataclass
class ChatStore:
    threads: dict[str, Thread] = field(default_factory=dict)
    created: dict[tuple[str, str], CreateRecord] = field(default_factory=dict)  # (user, id)

    def clear(self) -> None:
        self.threads.clear()
        self.created.clear()

    def summary(self) -> list[dict[str, Any]]:
        """The admin view: every thread with who is in it and what happened there."""
        return [{
            **thread.properties(),
            "participants": sorted(thread.participants),
            "messages": len(thread.messages),
            "readReceipts": {reader: receipt.message_id
                             for reader, receipt in thread.receipts.items()},
            "typing": [{"sender": t.sender, "senderDisplayName": t.display_name,
                        "sentOn": rfc3339(t.sent_ms)} for t in thread.typing],
        } for thread in self.threads.values()]
