"""The ACS Chat API (2024-03-07), threads and participants: create (repeatable), get, list,
update topic and delete threads; add, list and remove participants. Shared thread lookup and
paging links live here too."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

from emulator import chat_input
from emulator.chat_auth import MANAGE_PARTICIPANTS, MANAGE_THREADS, ChatUser
from emulator.chat_state import CreateRecord, Participant, Thread, now_ms, user_identifier
from emulator.context import Context
from emulator.web import AcsError, Request, Response, Route, RouteHandler, route

logger = logging.getLogger(__name__)

T = TypeVar("T")

API_VERSIONS = frozenset({"2024-03-07"})
MAX_REPEATABILITY_ID = 256


def caller(request: Request) -> ChatUser:
    user = request.principal
    if not isinstance(user, ChatUser):  # the server authenticates every chat route
        raise AcsError(401, "Unauthorized", "No authenticated chat user.")
    return user


def thread_for(ctx: Context, user: ChatUser, thread_id: str) -> Thread:
    """A live thread the caller takes part in; the caller holds the state lock."""
    thread = ctx.state.chat.threads.get(thread_id)
    if thread is None or thread.deleted_ms is not None:
        raise AcsError(404, "NotFound", "The chat thread does not exist or was deleted.")
    if user.id not in thread.participants:
        raise AcsError(403, "Forbidden", "The user is not a participant of this chat thread.")
    return thread


def base_url(ctx: Context, request: Request) -> str:
    """The endpoint as the client addressed it, for Location headers and next links."""
    host = request.header("host") or urlsplit(ctx.resource.base_url).netloc
    return f"https://{host}"


def link(ctx: Context, request: Request, path: str, params: dict[str, Any]) -> str:
    query = urlencode({**params, "api-version": request.query.get("api-version", "")})
    return f"{base_url(ctx, request)}{quote(path, safe='/:@')}?{query}"


def thread_path(thread_id: str) -> str:
    return f"/chat/threads/{thread_id}"


@dataclass(frozen=True)
class SkipPage:
    """The page asked for of a list paged by skip (participants, read receipts); read from the
    query before any state, so a bad query is a 400 whatever the thread."""

    size: int
    skip: int

    @classmethod
    def asked(cls, request: Request) -> SkipPage:
        return cls(chat_input.page_size(request.query), chat_input.skip(request.query))

    def body(self, ctx: Context, request: Request, path: str, items: Sequence[T],
             view: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
        """The page's `value`, and a `nextLink` while more items remain."""
        end = self.skip + self.size
        body: dict[str, Any] = {"value": [view(item) for item in items[self.skip:end]]}
        if len(items) > end:
            body["nextLink"] = link(ctx, request, path, {"skip": end, "maxPageSize": self.size})
        return body


def encode_cursor(value: Any) -> str:
    """Continuation state as hex: opaque, and safe through every SDK's re-quoting of links."""
    return json.dumps(value, separators=(",", ":")).encode("utf-8").hex()


def decode_cursor(raw: str | None, *kinds: tuple[type, ...]) -> list[Any] | None:
    """A continuation this service issued: a list whose items have the given types."""
    if raw is None:
        return None
    try:
        value = json.loads(bytes.fromhex(raw).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        value = None
    if not (isinstance(value, list) and len(value) == len(kinds)
            and all(isinstance(item, kind) and not isinstance(item, bool)
                    for item, kind in zip(value, kinds, strict=True))):
        raise chat_input.invalid("'syncState' is not a continuation this service issued.")
    return value


OPTIONAL_INT = (int, type(None))


def _invalid_participant(target: str, code: str, message: str) -> dict[str, str]:
    return {"target": target, "code": code, "message": message}


def _check_participant(ctx: Context, candidate: chat_input.NewParticipant
                       ) -> dict[str, str] | None:
    """Why this participant cannot join (as ACS reports it in `invalidParticipants`), or None.
    The caller holds the state lock."""
    raw_id = candidate.identifier.raw_id
    if not candidate.identifier.is_user:
        return _invalid_participant(raw_id, "400", "Only communication users can join a chat "
                                    "thread in the emulator.")
    if not raw_id.startswith(f"8:acs:{ctx.resource.resource_id}_"):
        return _invalid_participant(raw_id, "403", "Permissions check failed")
    record = ctx.state.identities.get(raw_id)
    if record is None or record.deleted_at is not None:
        return _invalid_participant(raw_id, "404", "Not found")
    return None


def _admit(ctx: Context, thread: Thread, candidates: list[chat_input.NewParticipant]
           ) -> tuple[list[Participant], list[dict[str, str]]]:
    """Add who can join (already present: no change, as ACS documents); the caller holds
    the lock. Returns those added and the refusals."""
    added: list[Participant] = []
    refused: list[dict[str, str]] = []
    for candidate in candidates:
        error = _check_participant(ctx, candidate)
        if error is not None:
            refused.append(error)
            continue
        raw_id = candidate.identifier.raw_id
        if raw_id in thread.participants:
            continue
        participant = Participant(raw_id, candidate.display_name, candidate.share_history_ms)
        thread.participants[raw_id] = participant
        added.append(participant)
    return added, refused


def _announce_added(thread: Thread, initiator: str, added: list[Participant]) -> None:
    if added:
        thread.add_message("participantAdded", system_content={
            "initiatorCommunicationIdentifier": user_identifier(initiator),
            "participants": [participant.view() for participant in added],
        })


def _repeatability_id(request: Request) -> str | None:
    value = request.header("repeatability-request-id")
    if value is None:
        return None
    if not value.strip() or len(value) > MAX_REPEATABILITY_ID:
        raise chat_input.invalid(f"'repeatability-request-id' must be 1..{MAX_REPEATABILITY_ID} "
                                 "characters.")
    return value


def create_thread(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    user = caller(request)
    user.require(MANAGE_THREADS, "create chat threads")
    body = request.json_object()
    topic = chat_input.string(body, "topic", required=True, limit=chat_input.MAX_TOPIC,
                              allow_empty=False)
    assert topic is not None
    candidates = chat_input.participants(body.get("participants"), "participants",
                                         required=False)
    repeat_id = _repeatability_id(request)
    with ctx.state.lock:
        store = ctx.state.chat
        if repeat_id is not None and (user.id, repeat_id) in store.created:
            record = store.created[(user.id, repeat_id)]
            if record.body != body:
                raise AcsError(409, "Conflict", "This repeatability-request-id was already used "
                               "with a different request.")
            return Response(record.status, record.result, {"Location": record.location})
        thread = _new_thread(ctx, user, topic, candidates)
        result: dict[str, Any] = {"chatThread": thread.properties()}
        added, refused = _admit(ctx, thread, candidates)
        creator = thread.participants[user.id]
        _announce_added(thread, user.id, [creator, *added])
        thread.add_message("topicUpdated", system_content={
            "initiatorCommunicationIdentifier": user_identifier(user.id), "topic": topic})
        if refused:
            result["invalidParticipants"] = refused
        location = base_url(ctx, request) + quote(thread_path(thread.id), safe="/@")
        if repeat_id is not None:
            store.created[(user.id, repeat_id)] = CreateRecord(body, 201, result, location)
    return Response(201, result, {"Location": location})


def _new_thread(ctx: Context, user: ChatUser, topic: str,
                candidates: list[chat_input.NewParticipant]) -> Thread:
    """The thread with its creator in it (with the name and history the request gives the
    creator, if it lists them); the caller holds the lock."""
    thread = Thread(id=f"19:{uuid.uuid4().hex}@thread.v2", topic=topic, created_ms=now_ms(),
                    created_by=user.id)
    own = next((c for c in candidates if c.identifier.raw_id == user.id), None)
    thread.participants[user.id] = Participant(
        user.id, own.display_name if own else None, own.share_history_ms if own else None)
    ctx.state.chat.threads[thread.id] = thread
    return thread


def get_thread(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    with ctx.state.lock:
        thread = thread_for(ctx, caller(request), params["chatThreadId"])
        return Response(200, thread.properties())


def list_threads(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    """The caller's threads, most recently active first (deleted ones too, with deletedOn)."""
    user = caller(request)
    size = chat_input.page_size(request.query)
    cursor = decode_cursor(request.query.get("syncState"), (int,), (str,), OPTIONAL_INT)
    start = chat_input.start_time(request.query) if cursor is None else cursor[2]
    with ctx.state.lock:
        threads = sorted((t for t in ctx.state.chat.threads.values()
                          if user.id in t.participants
                          and (start is None or t.changed_ms >= start)),
                         key=lambda t: (-t.changed_ms, t.id))
        if cursor is not None:
            after = (-cursor[0], cursor[1])
            threads = [t for t in threads if (-t.changed_ms, t.id) > after]
        page = threads[:size]
        body: dict[str, Any] = {"value": [thread.item() for thread in page]}
    if len(threads) > size:
        last = page[-1]
        body["nextLink"] = link(ctx, request, "/chat/threads", {
            "syncState": encode_cursor([last.changed_ms, last.id, start]), "maxPageSize": size})
    return Response(200, body)


def update_thread(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    user = caller(request)
    user.require(MANAGE_THREADS, "update chat threads")
    chat_input.patch_body(request.headers)
    body = request.json_object()
    topic = chat_input.string(body, "topic", limit=chat_input.MAX_TOPIC, allow_empty=False)
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        if topic is not None:
            thread.topic = topic
            thread.add_message("topicUpdated", system_content={
                "initiatorCommunicationIdentifier": user_identifier(user.id), "topic": topic})
    return Response(204)


def delete_thread(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    user = caller(request)
    user.require(MANAGE_THREADS, "delete chat threads")
    with ctx.state.lock:
        thread = ctx.state.chat.threads.get(params["chatThreadId"])
        if thread is not None and thread.deleted_ms is not None \
                and user.id in thread.participants:
            return Response(204)  # deleting again changes nothing
        thread = thread_for(ctx, user, params["chatThreadId"])
        thread.deleted_ms = now_ms()
    return Response(204)


def add_participants(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    user = caller(request)
    user.require(MANAGE_PARTICIPANTS, "add participants")
    body = request.json_object()
    candidates = chat_input.participants(body.get("participants"), "participants",
                                         required=True)
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        added, refused = _admit(ctx, thread, candidates)
        _announce_added(thread, user.id, added)
    return Response(201, {"invalidParticipants": refused} if refused else {})


def list_participants(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    user = caller(request)
    page = SkipPage.asked(request)
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        body = page.body(ctx, request, f"{thread_path(thread.id)}/participants",
                         list(thread.participants.values()), Participant.view)
    return Response(200, body)


def remove_participant(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    """Removing someone who is not (or no longer) in the thread changes nothing: 204."""
    user = caller(request)
    user.require(MANAGE_PARTICIPANTS, "remove participants")
    target = chat_input.identifier(request.json_object(), "body")
    with ctx.state.lock:
        thread = thread_for(ctx, user, params["chatThreadId"])
        removed = thread.participants.pop(target.raw_id, None)
        if removed is not None:
            thread.add_message("participantRemoved", system_content={
                "initiatorCommunicationIdentifier": user_identifier(user.id),
                "participants": [removed.view()],
            })
    return Response(204)


def chat_route(method: str, path: str, handler: RouteHandler, operation: str) -> Route:
    """A Chat route: user access tokens, api-version 2024-03-07."""
    return route(method, path, handler, operation, API_VERSIONS, user_token=True)


ROUTES = [
    chat_route("POST", "/chat/threads", create_thread, "chat.createThread"),
    chat_route("GET", "/chat/threads", list_threads, "chat.listThreads"),
    chat_route("GET", "/chat/threads/{chatThreadId}", get_thread, "chat.getThread"),
    chat_route("PATCH", "/chat/threads/{chatThreadId}", update_thread, "chat.updateThread"),
    chat_route("DELETE", "/chat/threads/{chatThreadId}", delete_thread, "chat.deleteThread"),
    chat_route("POST", "/chat/threads/{chatThreadId}/participants/:add", add_participants,
                "chat.addParticipants"),
    chat_route("GET", "/chat/threads/{chatThreadId}/participants", list_participants,
                "chat.listParticipants"),
    chat_route("POST", "/chat/threads/{chatThreadId}/participants/:remove",
                remove_participant, "chat.removeParticipant"),
]
