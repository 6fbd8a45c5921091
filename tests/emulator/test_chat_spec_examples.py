"""Replays every official Chat 2024-03-07 example against the emulator: the example's request
with its ids swapped for live ones, each answer checked against the example and validated
against the spec's own schema for that status, success and every error status it lists."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emulator.client import EmulatorClient
from tests.emulator.acs_http import identity_path
from tests.emulator.chat_http import ChatHttp, User, thread_url
from tests.emulator.spec_schemas import SpecSchemas

CHAT = "Chat/stable/2024-03-07/communicationserviceschat.json"
EXAMPLES = "Chat/stable/2024-03-07/examples"
PREFIX = "8:acs:8540c0de-899f-5cce-acb5-3ec493af3800_"
# The examples' users, by the guid after the (foreign) resource id.
CREATOR, JANE, RAMA = (PREFIX + "0e59221d-0c1d-46ae-9544-c963ce56c10b",
                       PREFIX + "c94ff260-162d-46d6-94fd-e79f4d213715",
                       PREFIX + "f13a9208-0bb8-45c0-916c-f3ed922728ce")
FOREIGN = PREFIX + "a34d2d65-d72f-4c48-a12c-2d5c9ac75a1a"  # stays foreign: 403 in the examples
MISSING = PREFIX + "f6762773-e33a-4727-985f-50bd1d197c7b"  # a deleted identity: 404


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the spec's path template
    body: str | None  # the example's parameter holding the body
    name: str  # counter and fault name


OPERATIONS = {
    "Threads_CreateChatThread": Operation("POST", "/chat/threads", "createChatThreadRequest",
                                          "chat.createThread"),
    "Threads_CreateChatThreadWithIdempotencyToken": Operation(
        "POST", "/chat/threads", "createChatThreadRequest", "chat.createThread"),
    "Threads_GetChatThread": Operation("GET", "/chat/threads/{chatThreadId}", None,
                                       "chat.getThread"),
    "Threads_ListChatThreadsWithPageSize": Operation("GET", "/chat/threads", None,
                                                     "chat.listThreads"),
    "Threads_UpdateChatThreadTopic": Operation("PATCH", "/chat/threads/{chatThreadId}",
                                               "updateChatThreadRequest", "chat.updateThread"),
    "Threads_DeleteChatThread": Operation("DELETE", "/chat/threads/{chatThreadId}", None,
                                          "chat.deleteThread"),
    "Participants_AddChatParticipants": Operation(
        "POST", "/chat/threads/{chatThreadId}/participants/:add", "addChatParticipantsRequest",
        "chat.addParticipants"),
    "Participants_ListChatParticipantsWithPageSize": Operation(
        "GET", "/chat/threads/{chatThreadId}/participants", None, "chat.listParticipants"),
    "Participants_RemoveChatParticipant": Operation(
        "POST", "/chat/threads/{chatThreadId}/participants/:remove",
        "participantCommunicationIdentifier", "chat.removeParticipant"),
    "Messages_SendChatMessage": Operation("POST", "/chat/threads/{chatThreadId}/messages",
                                          "sendChatMessageRequest", "chat.sendMessage"),
    "Messages_GetChatMessage": Operation(
        "GET", "/chat/threads/{chatThreadId}/messages/{chatMessageId}", None, "chat.getMessage"),
    "Messages_ListChatMessagesWithPageSize": Operation(
        "GET", "/chat/threads/{chatThreadId}/messages", None, "chat.listMessages"),
    "Messages_UpdateChatMessage": Operation(
        "PATCH", "/chat/threads/{chatThreadId}/messages/{chatMessageId}",
        "updateChatMessageRequest", "chat.updateMessage"),
    "Messages_DeleteChatMessage": Operation(
        "DELETE", "/chat/threads/{chatThreadId}/messages/{chatMessageId}", None,
        "chat.deleteMessage"),
    "Messages_SendTypingNotification": Operation(
        "POST", "/chat/threads/{chatThreadId}/typing", "sendTypingNotificationRequest",
        "chat.sendTyping"),
    "Conversations_SendChatReadReceipt": Operation(
        "POST", "/chat/threads/{chatThreadId}/readReceipts", "sendReadReceiptRequest",
        "chat.sendReadReceipt"),
    "Conversations_ListChatReadReceiptsWithPageSize": Operation(
        "GET", "/chat/threads/{chatThreadId}/readReceipts", None, "chat.listReadReceipts"),
}


@dataclass
class World:
    """Live stand-ins for the examples' users, thread and messages."""

    chat: ChatHttp
    users: dict[str, User]  # by example id
    thread_id: str
    message_ids: list[str]
    stranger: User

    def ids(self, example: dict[str, Any]) -> dict[str, str]:
        mapping = {example_id: user.id for example_id, user in self.users.items()}
        parameters = example["parameters"]
        if "chatThreadId" in parameters:
            mapping[parameters["chatThreadId"]] = self.thread_id
        if "chatMessageId" in parameters:
            mapping[parameters["chatMessageId"]] = self.message_ids[0]
        return mapping

    def request(self, name: str, example: dict[str, Any], user: User | None,
                **options: Any) -> requests.Response:
        operation = OPERATIONS[name]
        parameters = _swap(example["parameters"], self.ids(example))
        path = operation.path
        if "chatThreadId" in parameters:
            # The parts after /chat/threads/{chatThreadId}, with the message id filled in.
            rest = [parameters.get("chatMessageId", "") if part == "{chatMessageId}" else part
                    for part in operation.path.split("/")[4:]]
            path = thread_url(parameters["chatThreadId"], *rest)
        params = {"maxPageSize": parameters["maxPageSize"]} if "maxPageSize" in parameters \
            else None
        headers = {}
        if "content-type" in parameters:
            headers["Content-Type"] = parameters["content-type"]
        if "idempotency-token" in parameters:
            headers["repeatability-request-id"] = parameters["idempotency-token"]
        body = parameters.get(operation.body) if operation.body else None
        return self.chat.call(operation.method, path, body, user=user, params=params,
                              headers=headers, api_version=parameters["api-version"],
                              **options)


def _swap(value: Any, mapping: dict[str, str]) -> Any:
    """The value with every string that is a key of `mapping` replaced."""
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, list):
        return [_swap(item, mapping) for item in value]
    if isinstance(value, dict):
        return {key: _swap(item, mapping) for key, item in value.items()}
    return value


def _example(chat_specs_dir: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((chat_specs_dir / EXAMPLES / f"{name}.json").read_text())
    return loaded


def _check(schemas: SpecSchemas, name: str, response: requests.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    operation = OPERATIONS[name]
    responses = schemas.documents[schemas.uri(CHAT)]["paths"][operation.path][
        operation.method.lower()]["responses"]
    if "schema" not in responses[str(status)]:
        assert response.content == b""
        return None
    body = response.json()
    schemas.validate(schemas.response_schema(CHAT, operation.path, operation.method.lower(),
                                             status), body)
    return body


def _identifier_ids(identifier: dict[str, Any]) -> tuple[str, str]:
    return identifier["rawId"], identifier["communicationUser"]["id"]


@pytest.fixture
def world(chat: ChatHttp) -> World:
    creator, jane, rama, gone, stranger = (chat.user() for _ in range(5))
    assert chat.acs.call("DELETE", identity_path(gone.id)).status_code == 204
    thread_id = chat.create_thread(creator, jane, rama)
    message_id = chat.send(creator, thread_id, "first")
    return World(chat, {CREATOR: creator, JANE: jane, RAMA: rama, MISSING: gone}, thread_id,
                 [message_id], stranger)


def test_chat_examples_every_file_is_replayed(chat_specs_dir: Path) -> None:
    on_disk = {path.stem for path in (chat_specs_dir / EXAMPLES).glob("*.json")}
    assert on_disk == set(OPERATIONS)


# ---- success answers, one test per example


@pytest.mark.parametrize("name", ["Threads_CreateChatThread",
                                  "Threads_CreateChatThreadWithIdempotencyToken"])
def test_chat_example_create_thread(world: World, chat_schemas: SpecSchemas,
                                    chat_specs_dir: Path, name: str) -> None:
    example = _example(chat_specs_dir, name)
    mapping = world.ids(example)
    want = _swap(example["responses"]["201"]["body"], mapping)
    response = world.request(name, example, world.users[JANE])
    body = _check(chat_schemas, name, response, 201)
    assert body["chatThread"]["topic"] == want["chatThread"]["topic"]
    assert _identifier_ids(body["chatThread"]["createdByCommunicationIdentifier"]) == \
        _identifier_ids(want["chatThread"]["createdByCommunicationIdentifier"])
    assert body["invalidParticipants"] == want["invalidParticipants"]
    assert response.headers["Location"].endswith(
        "/chat/threads/" + body["chatThread"]["id"].replace(":", "%3A"))
    members = next(t for t in world.chat.threads() if t["id"] == body["chatThread"]["id"])
    assert sorted(members["participants"]) == sorted([world.users[JANE].id,
                                                      world.users[CREATOR].id])
    if "idempotency-token" in example["parameters"]:
        again = world.request(name, example, world.users[JANE])
        assert (again.status_code, again.json()) == (201, body)
        assert len(world.chat.threads()) == 2  # the world's thread and this one


def test_chat_example_get_thread(world: World, chat_schemas: SpecSchemas,
                                 chat_specs_dir: Path) -> None:
    name = "Threads_GetChatThread"
    example = _example(chat_specs_dir, name)
    want = _swap(example["responses"]["200"]["body"], world.ids(example))
    body = _check(chat_schemas, name, world.request(name, example, world.users[CREATOR]), 200)
    assert set(body) == set(want)
    assert (body["id"], body["topic"]) == (want["id"], "Lunch")
    assert _identifier_ids(body["createdByCommunicationIdentifier"]) == \
        _identifier_ids(want["createdByCommunicationIdentifier"])


def test_chat_example_list_threads(world: World, chat_schemas: SpecSchemas,
                                   chat_specs_dir: Path) -> None:
    name = "Threads_ListChatThreadsWithPageSize"
    example = _example(chat_specs_dir, name)
    creator = world.users[CREATOR]
    for index in range(5):
        world.chat.create_thread(creator, topic=f"Chat {index}")
    body = _check(chat_schemas, name, world.request(name, example, creator), 200)
    want = example["responses"]["200"]["body"]
    assert len(body["value"]) == len(want["value"]) == 5
    assert all(set(item) <= set(want["value"][3]) for item in body["value"])
    query = parse_qs(urlsplit(body["nextLink"]).query)
    assert query["maxPageSize"] == ["5"] and query["api-version"] == ["2024-03-07"]
    rest = world.chat.call("GET", "", user=creator, url=body["nextLink"])
    last = _check(chat_schemas, name, rest, 200)
    assert [item["id"] for item in last["value"]] == [world.thread_id]


def test_chat_example_update_topic(world: World, chat_schemas: SpecSchemas,
                                   chat_specs_dir: Path) -> None:
    name = "Threads_UpdateChatThreadTopic"
    example = _example(chat_specs_dir, name)
    _check(chat_schemas, name, world.request(name, example, world.users[CREATOR]), 204)
    topic = world.chat.call("GET", thread_url(world.thread_id),
                            user=world.users[JANE]).json()["topic"]
    assert topic == example["parameters"]["updateChatThreadRequest"]["topic"]


def test_chat_example_delete_thread(world: World, chat_schemas: SpecSchemas,
                                    chat_specs_dir: Path) -> None:
    name = "Threads_DeleteChatThread"
    example = _example(chat_specs_dir, name)
    _check(chat_schemas, name, world.request(name, example, world.users[CREATOR]), 204)
    assert "deletedOn" in world.chat.threads()[0]


def test_chat_example_add_participants(world: World, chat_schemas: SpecSchemas,
                                       chat_specs_dir: Path) -> None:
    """The example's request adds users that all exist here (201, nothing invalid); its
    answer's invalid participants come back exactly when those users are the ones added."""
    name = "Participants_AddChatParticipants"
    example = _example(chat_specs_dir, name)
    thread_id = world.chat.create_thread(world.users[CREATOR])
    world.thread_id = thread_id
    body = _check(chat_schemas, name, world.request(name, example, world.users[CREATOR]), 201)
    assert body == {}
    members = next(t for t in world.chat.threads() if t["id"] == thread_id)["participants"]
    assert sorted(members) == sorted(u.id for k, u in world.users.items() if k != MISSING)
    want = _swap(example["responses"]["201"]["body"], world.ids(example))
    refused = world.chat.call("POST", thread_url(thread_id, "participants/:add"), {
        "participants": [{"communicationIdentifier": {"communicationUser": {"id": item["target"]}}}
                         for item in want["invalidParticipants"]]}, user=world.users[CREATOR])
    assert _check(chat_schemas, name, refused, 201) == want


def test_chat_example_list_participants(world: World, chat_schemas: SpecSchemas,
                                        chat_specs_dir: Path) -> None:
    name = "Participants_ListChatParticipantsWithPageSize"
    example = _example(chat_specs_dir, name)
    body = _check(chat_schemas, name, world.request(name, example, world.users[CREATOR]), 200)
    want = example["responses"]["200"]["body"]
    assert len(body["value"]) == len(want["value"]) == 2
    want_query = parse_qs(urlsplit(want["nextLink"]).query)
    got_query = parse_qs(urlsplit(body["nextLink"]).query)
    assert got_query == want_query
    rest = _check(chat_schemas, name, world.chat.call("GET", "", user=world.users[CREATOR],
                                                      url=body["nextLink"]), 200)
    assert [p["communicationIdentifier"]["rawId"] for p in body["value"] + rest["value"]] == [
        world.users[key].id for key in (CREATOR, JANE, RAMA)]


def test_chat_example_remove_participant(world: World, chat_schemas: SpecSchemas,
                                         chat_specs_dir: Path) -> None:
    name = "Participants_RemoveChatParticipant"
    example = _example(chat_specs_dir, name)
    _check(chat_schemas, name, world.request(name, example, world.users[JANE]), 204)
    assert world.users[CREATOR].id not in world.chat.threads()[0]["participants"]


def test_chat_example_send_message(world: World, chat_schemas: SpecSchemas,
                                   chat_specs_dir: Path) -> None:
    name = "Messages_SendChatMessage"
    example = _example(chat_specs_dir, name)
    response = world.request(name, example, world.users[CREATOR])
    body = _check(chat_schemas, name, response, 201)
    assert set(body) == set(example["responses"]["201"]["body"])
    assert response.headers["Location"].endswith(f"/messages/{body['id']}")


def test_chat_example_get_message(world: World, chat_schemas: SpecSchemas,
                                  chat_specs_dir: Path) -> None:
    name = "Messages_GetChatMessage"
    example = _example(chat_specs_dir, name)
    want = _swap(example["responses"]["200"]["body"], world.ids(example))
    sent = world.chat.call("POST", thread_url(world.thread_id, "messages"), {
        "content": want["content"]["message"], "senderDisplayName": want["senderDisplayName"],
        "metadata": want["metadata"]}, user=world.users[CREATOR])
    world.message_ids.insert(0, sent.json()["id"])
    body = _check(chat_schemas, name, world.request(name, example, world.users[JANE]), 200)
    assert set(body) == set(want) | {"senderCommunicationIdentifier"}
    for key in ("type", "content", "senderDisplayName", "metadata"):
        assert body[key] == want[key], key
    assert _identifier_ids(body["senderCommunicationIdentifier"]) == \
        _identifier_ids(want["senderCommunicationIdentifier"])


def test_chat_example_list_messages_reproduces_example_history(
    chat: ChatHttp, chat_schemas: SpecSchemas, chat_specs_dir: Path
) -> None:
    """The example's thread rebuilt: three users join "Lunch", then three text messages. The
    first page of five is the example's, id for id swapped (times and ids are live)."""
    name = "Messages_ListChatMessagesWithPageSize"
    example = _example(chat_specs_dir, name)
    creator, jane, rama = chat.user(), chat.user(), chat.user()
    thread_id = chat.create_thread(creator, jane, rama, topic="Lunch")
    want = _swap(example["responses"]["200"]["body"],
                 {CREATOR: creator.id, JANE: jane.id, RAMA: rama.id})["value"]
    for message in reversed([m for m in want if m["type"] == "text"]):
        chat.call("POST", thread_url(thread_id, "messages"), {
            "content": message["content"]["message"],
            "senderDisplayName": message["senderDisplayName"]}, user=creator)
    world = World(chat, {CREATOR: creator}, thread_id, [], creator)
    body = _check(chat_schemas, name, world.request(name, example, creator), 200)
    assert len(body["value"]) == 5 and "nextLink" not in body
    for got, expected in zip(body["value"], want, strict=True):
        assert (got["type"], got["sequenceId"]) == (expected["type"], expected["sequenceId"])
        assert got.get("senderDisplayName") == expected.get("senderDisplayName")
        if expected["type"] == "text":
            assert got["content"] == expected["content"]
            continue
        content = got["content"]
        assert _identifier_ids(content["initiatorCommunicationIdentifier"]) == \
            _identifier_ids(expected["content"]["initiatorCommunicationIdentifier"])
        assert content.get("topic") == expected["content"].get("topic")
        assert [_identifier_ids(p["communicationIdentifier"])
                for p in content.get("participants", [])] == [
            _identifier_ids(p["communicationIdentifier"])
            for p in expected["content"].get("participants", [])]


def test_chat_example_update_message(world: World, chat_schemas: SpecSchemas,
                                     chat_specs_dir: Path) -> None:
    name = "Messages_UpdateChatMessage"
    example = _example(chat_specs_dir, name)
    _check(chat_schemas, name, world.request(name, example, world.users[CREATOR]), 204)
    update = example["parameters"]["updateChatMessageRequest"]
    got = world.chat.call("GET", thread_url(world.thread_id, "messages", world.message_ids[0]),
                          user=world.users[JANE]).json()
    assert (got["content"]["message"], got["metadata"]) == (update["content"],
                                                            update["metadata"])


def test_chat_example_delete_message(world: World, chat_schemas: SpecSchemas,
                                     chat_specs_dir: Path) -> None:
    name = "Messages_DeleteChatMessage"
    example = _example(chat_specs_dir, name)
    _check(chat_schemas, name, world.request(name, example, world.users[CREATOR]), 204)
    got = world.chat.call("GET", thread_url(world.thread_id, "messages", world.message_ids[0]),
                          user=world.users[JANE]).json()
    assert "deletedOn" in got


def test_chat_example_send_typing(world: World, chat_schemas: SpecSchemas,
                                  chat_specs_dir: Path) -> None:
    name = "Messages_SendTypingNotification"
    example = _example(chat_specs_dir, name)
    _check(chat_schemas, name, world.request(name, example, world.users[JANE]), 200)
    assert world.chat.threads()[0]["typing"][0]["senderDisplayName"] == "Jane"


def test_chat_example_send_read_receipt(world: World, chat_schemas: SpecSchemas,
                                        chat_specs_dir: Path) -> None:
    name = "Conversations_SendChatReadReceipt"
    example = _example(chat_specs_dir, name)
    mapping = {example["parameters"]["sendReadReceiptRequest"]["chatMessageId"]:
               world.message_ids[0]}
    response = world.request(name, _swap(example, mapping), world.users[JANE])
    _check(chat_schemas, name, response, 200)
    assert world.chat.threads()[0]["readReceipts"] == {world.users[JANE].id:
                                                       world.message_ids[0]}


def test_chat_example_list_read_receipts(world: World, chat_schemas: SpecSchemas,
                                         chat_specs_dir: Path) -> None:
    name = "Conversations_ListChatReadReceiptsWithPageSize"
    example = _example(chat_specs_dir, name)
    want = example["responses"]["200"]["body"]
    second = world.chat.send(world.users[CREATOR], world.thread_id, "second")
    read = {CREATOR: world.message_ids[0], JANE: second, RAMA: second}
    for key, message_id in read.items():
        world.chat.call("POST", thread_url(world.thread_id, "readReceipts"),
                        {"chatMessageId": message_id}, user=world.users[key])
    body = _check(chat_schemas, name, world.request(name, example, world.users[JANE]), 200)
    assert [set(item) for item in body["value"]] == [set(item) for item in want["value"]]
    assert [(r["senderCommunicationIdentifier"]["rawId"], r["chatMessageId"])
            for r in body["value"]] == [(world.users[CREATOR].id, world.message_ids[0]),
                                        (world.users[JANE].id, second)]
    assert parse_qs(urlsplit(body["nextLink"]).query) == parse_qs(
        urlsplit(want["nextLink"]).query)


# ---- every error status each example lists


def _forbidden_caller(world: World, name: str) -> User:
    """A join-scoped user where the scope is what forbids the operation, otherwise someone who
    is not in the thread."""
    if name.startswith("Threads_Create"):
        joiner = world.chat.acs.create_identity()
        return User(joiner, world.chat.token(joiner, "chat.join"))
    return world.stranger


@pytest.mark.parametrize("status", [401, 403, 429, 503])
@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_chat_example_error_statuses(world: World, emulator: EmulatorClient,
                                     chat_schemas: SpecSchemas, chat_specs_dir: Path,
                                     name: str, status: int) -> None:
    """401: no token. 403: a caller the emulator forbids (list threads has no such caller,
    as it only lists the caller's own threads, so its 403 is injected like 429 and 503)."""
    example = _example(chat_specs_dir, name)
    want = example["responses"][str(status)]["body"]
    user: User | None = world.users[CREATOR]
    if status == 401:
        user = None
    elif status == 403 and name != "Threads_ListChatThreadsWithPageSize":
        user = _forbidden_caller(world, name)
    else:
        emulator.fault(OPERATIONS[name].name, status)
    before = world.chat.threads()
    body = _check(chat_schemas, name, world.request(name, example, user), status)
    assert body["error"]["code"] == want["error"]["code"]
    assert world.chat.threads() == before
