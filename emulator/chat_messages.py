"""The ACS Chat API (2024-03-07), inside a thread: send, get, list (paged, newest first),
update and delete messages; send and list read receipts; typing notifications."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from emulator import chat_input
from emulator.chat import (
    OPTIONAL_INT,
    SkipPage,
    base_url,
    caller,
    chat_route,
    decode_cursor,
    encode_cursor,
    link,
    thread_for,
    thread_path,
)
from emulator.chat_auth import ChatUser
from emulator.chat_state import (
    Message,
    ReadReceipt,
    Thread,
    Typing,
    now_ms,
    rfc3339,
    user_identifier,
)
from emulator.context import Context
from emulator.web import AcsError, Request, Response

logger = logging.getLogger(__name__)

USER_MESSAGE_TYPES = frozenset({"text", "html"})
SYSTEM_MESSAGE_TYPES = frozenset({"topicUpdated", "participantAdded", "participantRemoved"})
TYPING_KEPT = 100  # typing notifications remembered per thread, for the admin view


def _visible(thread: Thread, user: ChatUser) -> list[Message]:
    """The history this participant may read: from their shareHistoryTime, if one was set."""
    since = thread.participants[user.id].share_history_ms
    return [m for m in thread.messages if since is None or m.created_ms >= since]


def _message(thread: Thread, user: ChatUser, message_id: str) -> Message:
    message = next((m for m in _visible(thread, user) if m.id == message_id), None)
    if message is None:
        raise AcsError(404, "NotFound", "The chat message does not exist in this thread.")
    return message


def _own_message(thread: Thread, user: ChatUser, message_id: str, action: str) -> Message:
    message = _message(thread, user, message_id)
    if message.sender != user.id:
        raise AcsError(403, "Forbidden", f"Only the sender may {action} a chat message.")
    return message


def send_message(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    user = caller(request)
    body = request.json_object()
    content = chat_input.string(body, "content", required=True, limit=chat_input.MAX_CONTENT,
                                allow_empty=False)
    name = chat_input.string(body, "senderDisplayName", limit=chat_input.MAX_DISPLAY_NAME)
    message_type = body.get("type", "text")
    if not isinstance(message_type, str):
        raise chat_input.invalid("'type' must be 'text' or 'html'.")
    if message_type in SYSTEM_MESSAGE_TYPES:
        raise chat_input.invalid(f"Messages of type '{message_type}' are sent by the service.")
    if message_type not in USER_MESSAGE_TYPES:
        raise chat_input.invalid("'type' must be 'text' or 'html'.")
    metadata = chat_input.metadata(body.get("metadata")) or {}
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        message = thread.add_message(
            message_type, sender=user.id, sender_display_name=name, content=content,
            metadata={key: value for key, value in metadata.items() if value is not None})
    location = base_url(ctx, request) + quote(
        f"{thread_path(thread.id)}/messages/{message.id}", safe="/@")
    return Response(201, {"id": message.id}, {"Location": location})


def get_message(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    user = caller(request)
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        return Response(200, _message(thread, user, params["chatMessageId"]).view())


def list_messages(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    """Newest first; `startTime` keeps messages created, edited or deleted since then."""
    user = caller(request)
    size = chat_input.page_size(request.query)
    start = chat_input.start_time(request.query)
    cursor = decode_cursor(request.query.get("syncState"), (int,), OPTIONAL_INT)
    before: int | None = None
    if cursor is not None:
        before, start = cursor
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        chosen = [m for m in reversed(_visible(thread, user))
                  if (before is None or m.sequence_id < before)
                  and (start is None or m.changed_ms >= start)]
        page = chosen[:size]
        body: dict[str, Any] = {"value": [message.view() for message in page]}
    if len(chosen) > size:
        body["nextLink"] = link(ctx, request, f"{thread_path(thread.id)}/messages", {
            "syncState": encode_cursor([page[-1].sequence_id, start]), "maxPageSize": size})
    return Response(200, body)


def update_message(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    """A JSON merge patch of content and metadata (a null metadata value removes the key)."""
    user = caller(request)
    chat_input.patch_body(request.headers)
    body = request.json_object()
    content = chat_input.string(body, "content", limit=chat_input.MAX_CONTENT,
                                allow_empty=False)
    metadata = chat_input.metadata(body.get("metadata"), patch=True)
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        message = _own_message(thread, user, params["chatMessageId"], "edit")
        if message.deleted_ms is not None:
            raise AcsError(404, "NotFound", "The chat message was deleted.")
        if content is not None:
            message.content = content
        for key, value in (metadata or {}).items():
            if value is None:
                message.metadata.pop(key, None)
            else:
                message.metadata[key] = value
        stamp = max(now_ms(), message.version_ms + 1)
        message.edited_ms = message.version_ms = stamp
    return Response(204)


def delete_message(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    user = caller(request)
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        message = _own_message(thread, user, params["chatMessageId"], "delete")
        if message.deleted_ms is None:
            message.deleted_ms = message.version_ms = max(now_ms(), message.version_ms + 1)
    return Response(204)


def send_read_receipt(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    """Remembers the latest message the caller has read (an older one changes nothing)."""
    user = caller(request)
    message_id = chat_input.string(request.json_object(), "chatMessageId", required=True,
                                   allow_empty=False)
    assert message_id is not None
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        message = _message(thread, user, message_id)
        current = thread.receipts.get(user.id)
        current_message = thread.find_message(current.message_id) if current else None
        if current_message is None or message.sequence_id > current_message.sequence_id:
            thread.receipts[user.id] = ReadReceipt(message.id, now_ms())
    return Response(200)


def list_read_receipts(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    user = caller(request)
    page = SkipPage.asked(request)
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        receipts = [(reader, receipt) for reader, receipt in thread.receipts.items()
                    if reader in thread.participants]
        body = page.body(ctx, request, f"{thread_path(thread.id)}/readReceipts", receipts,
                         _receipt_view)
    return Response(200, body)


def _receipt_view(item: tuple[str, ReadReceipt]) -> dict[str, Any]:
    reader, receipt = item
    return {"senderCommunicationIdentifier": user_identifier(reader),
            "chatMessageId": receipt.message_id, "readOn": rfc3339(receipt.read_ms)}


def send_typing(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    """Nobody listens in the emulator (no real-time notifications); it is recorded for the
    admin view and answered as ACS does."""
    user = caller(request)
    name = chat_input.string(request.json_object(allow_empty=True), "senderDisplayName",
                             limit=chat_input.MAX_DISPLAY_NAME)
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        thread.typing.append(Typing(user.id, name, now_ms()))
        del thread.typing[:-TYPING_KEPT]
    return Response(200)


_MESSAGE = "/chat/threads/{chatThreadId}/messages/{chatMessageId}"
ROUTES = [
    chat_route("POST", "/chat/threads/{chatThreadId}/messages", send_message,
                "chat.sendMessage"),
    chat_route("GET", "/chat/threads/{chatThreadId}/messages", list_messages,
                "chat.listMessages"),
    chat_route("GET", _MESSAGE, get_message, "chat.getMessage"),
    chat_route("PATCH", _MESSAGE, update_message, "chat.updateMessage"),
    chat_route("DELETE", _MESSAGE, delete_message, "chat.deleteMessage"),
    chat_route("POST", "/chat/threads/{chatThreadId}/readReceipts", send_read_receipt,
                "chat.sendReadReceipt"),
    chat_route("GET", "/chat/threads/{chatThreadId}/readReceipts", list_read_receipts,
                "chat.listReadReceipts"),
    chat_route("POST", "/chat/threads/{chatThreadId}/typing", send_typing, "chat.sendTyping"),
]
