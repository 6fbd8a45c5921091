"""The emulator's Chat API with raw requests: threads, participants, messages, read receipts,
typing, paging and repeatability, each answer validated against the 2024-03-07 schemas."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
import requests

from tests.emulator.chat_http import ChatHttp, User, thread_url
from tests.emulator.spec_schemas import SpecSchemas

CHAT = "Chat/stable/2024-03-07/communicationserviceschat.json"


def _valid(schemas: SpecSchemas, response: requests.Response, path: str, method: str,
           status: int) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    schemas.validate(schemas.response_schema(CHAT, path, method, status), body)
    return body


def _error(schemas: SpecSchemas, response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    schemas.validate(schemas.definition(CHAT, "CommunicationErrorResponse"), body)
    assert body["error"]["code"] == code


def _all_pages(chat: ChatHttp, user: User, path: str, page_size: int) -> list[list[Any]]:
    pages = []
    response = chat.call("GET", path, user=user, params={"maxPageSize": page_size})
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["value"])
        if "nextLink" not in body:
            return pages
        response = chat.call("GET", "", user=user, url=body["nextLink"])


# ---- threads


def test_chat_create_thread_creator_and_participants_are_members(
    chat: ChatHttp, chat_schemas: SpecSchemas
) -> None:
    alice, bob = chat.user(), chat.user()
    response = chat.call("POST", "/chat/threads", {
        "topic": "Lunch", "participants": [
            {"communicationIdentifier": bob.identifier, "displayName": "Bob"}]}, user=alice)
    body = _valid(chat_schemas, response, "/chat/threads", "post", 201)
    thread = body["chatThread"]
    assert thread["topic"] == "Lunch"
    assert thread["createdByCommunicationIdentifier"]["rawId"] == alice.id
    assert "invalidParticipants" not in body
    assert response.headers["Location"].endswith(thread["id"].replace(":", "%3A"))
    listed = _valid(chat_schemas, chat.call("GET", thread_url(thread["id"], "participants"),
                                            user=bob),
                    "/chat/threads/{chatThreadId}/participants", "get", 200)
    assert {p["communicationIdentifier"]["rawId"]: p.get("displayName")
            for p in listed["value"]} == {alice.id: None, bob.id: "Bob"}


def test_chat_create_thread_repeatability_id_replays_same_thread(chat: ChatHttp) -> None:
    alice = chat.user()
    body = {"topic": "Once"}
    headers = {"repeatability-request-id": "3a1a7c3e-6c3e-4c9b-8f7e-2f5d1f8c9b10"}
    first = chat.call("POST", "/chat/threads", body, user=alice, headers=headers)
    again = chat.call("POST", "/chat/threads", body, user=alice, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.headers["Location"] == again.headers["Location"]
    assert len(chat.threads()) == 1


def test_chat_create_thread_repeatability_id_with_other_body_409_no_thread(
    chat: ChatHttp, chat_schemas: SpecSchemas
) -> None:
    alice = chat.user()
    headers = {"repeatability-request-id": "f0f4b8de-41b8-4e65-9d0a-0f8e3b0a6c11"}
    assert chat.call("POST", "/chat/threads", {"topic": "A"}, user=alice,
                     headers=headers).status_code == 201
    _error(chat_schemas, chat.call("POST", "/chat/threads", {"topic": "B"}, user=alice,
                                   headers=headers), 409, "Conflict")
    assert [t["topic"] for t in chat.threads()] == ["A"]


def test_chat_create_thread_repeatability_id_is_per_user(chat: ChatHttp) -> None:
    alice, bob = chat.user(), chat.user()
    headers = {"repeatability-request-id": "5e8e2bb0-7d2c-4f6e-9d4e-8d6c1e2f3a44"}
    first = chat.call("POST", "/chat/threads", {"topic": "A"}, user=alice, headers=headers)
    other = chat.call("POST", "/chat/threads", {"topic": "A"}, user=bob, headers=headers)
    assert first.status_code == other.status_code == 201
    assert first.json()["chatThread"]["id"] != other.json()["chatThread"]["id"]


def test_chat_create_thread_without_repeatability_id_creates_each_time(chat: ChatHttp) -> None:
    alice = chat.user()
    chat.create_thread(alice)
    chat.create_thread(alice)
    assert len(chat.threads()) == 2


@pytest.mark.parametrize("body", [
    {}, {"topic": ""}, {"topic": 5}, {"topic": "x" * 251},
    {"topic": "t", "participants": {}},
    {"topic": "t", "participants": [{"displayName": "no identifier"}]},
    {"topic": "t", "participants": [{"communicationIdentifier": {"communicationUser": {}}}]},
    {"topic": "t", "participants": [{"communicationIdentifier": {"rawId": "8:acs:x"},
                                     "shareHistoryTime": "yesterday"}]},
    {"topic": "t", "participants": [{"communicationIdentifier": {"rawId": "8:acs:x"},
                                     "shareHistoryTime": "0001-01-01T00:00:00+05:00"}]},
    {"topic": "t", "participants": [{"communicationIdentifier": {"kind": {}, "rawId": "8:acs:x"}}]},
])
def test_chat_create_thread_invalid_body_400_nothing_created(
    chat: ChatHttp, chat_schemas: SpecSchemas, body: Any
) -> None:
    _error(chat_schemas, chat.call("POST", "/chat/threads", body, user=chat.user()), 400,
           "BadRequest")
    assert chat.threads() == []


def test_chat_create_thread_body_not_object_400_nothing_created(
    chat: ChatHttp, chat_schemas: SpecSchemas
) -> None:
    _error(chat_schemas, chat.call("POST", "/chat/threads", [], user=chat.user()), 400,
           "InvalidRequestBody")
    assert chat.threads() == []


def test_chat_create_thread_unknown_and_foreign_participants_reported_invalid(
    chat: ChatHttp, chat_schemas: SpecSchemas
) -> None:
    alice, gone = chat.user(), chat.user()
    chat.acs.call("DELETE", f"/identities/{gone.id}")
    foreign = "8:acs:8540c0de-899f-5cce-acb5-3ec493af3800_a34d2d65-d72f-4c48-a12c-2d5c9ac75a1a"
    response = chat.call("POST", "/chat/threads", {"topic": "t", "participants": [
        {"communicationIdentifier": {"communicationUser": {"id": foreign}}},
        {"communicationIdentifier": gone.identifier},
        {"communicationIdentifier": {"phoneNumber": {"value": "+14255550123"}}},
    ]}, user=alice)
    body = _valid(chat_schemas, response, "/chat/threads", "post", 201)
    assert [(e["target"], e["code"]) for e in body["invalidParticipants"]] == [
        (foreign, "403"), (gone.id, "404"), ("", "400")]
    assert chat.threads()[0]["participants"] == [alice.id]


def test_chat_get_thread_returns_properties(chat: ChatHttp, chat_schemas: SpecSchemas) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice, topic="Plans")
    body = _valid(chat_schemas, chat.call("GET", thread_url(thread_id), user=alice),
                  "/chat/threads/{chatThreadId}", "get", 200)
    assert (body["id"], body["topic"]) == (thread_id, "Plans")
    assert body["createdByCommunicationIdentifier"]["communicationUser"]["id"] == alice.id


def test_chat_update_topic_merge_patch_changes_topic_and_posts_system_message(
    chat: ChatHttp
) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice)
    response = chat.call("PATCH", thread_url(thread_id), {"topic": "Dinner"}, user=alice,
                         headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 204, response.text
    assert chat.call("GET", thread_url(thread_id), user=alice).json()["topic"] == "Dinner"
    messages = chat.call("GET", thread_url(thread_id, "messages"), user=alice).json()["value"]
    assert messages[0]["type"] == "topicUpdated"
    assert messages[0]["content"]["topic"] == "Dinner"


def test_chat_update_topic_empty_patch_changes_nothing(chat: ChatHttp) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice, topic="Same")
    assert chat.call("PATCH", thread_url(thread_id), {}, user=alice).status_code == 204
    assert chat.call("GET", thread_url(thread_id), user=alice).json()["topic"] == "Same"


def test_chat_update_topic_wrong_content_type_415(chat: ChatHttp) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice, topic="Same")
    response = chat.call("PATCH", thread_url(thread_id), None, user=alice,
                         headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_chat_delete_thread_gone_for_everyone_but_listed_with_deleted_on(
    chat: ChatHttp, chat_schemas: SpecSchemas
) -> None:
    alice, bob = chat.user(), chat.user()
    thread_id = chat.create_thread(alice, bob)
    assert chat.call("DELETE", thread_url(thread_id), user=alice).status_code == 204
    assert chat.call("DELETE", thread_url(thread_id), user=alice).status_code == 204
    _error(chat_schemas, chat.call("GET", thread_url(thread_id), user=bob), 404, "NotFound")
    _error(chat_schemas, chat.call("POST", thread_url(thread_id, "messages"),
                                   {"content": "hi"}, user=bob), 404, "NotFound")
    listed = _valid(chat_schemas, chat.call("GET", "/chat/threads", user=bob),
                    "/chat/threads", "get", 200)
    assert [(t["id"], "deletedOn" in t) for t in listed["value"]] == [(thread_id, True)]


def test_chat_list_threads_only_own_newest_activity_first(chat: ChatHttp) -> None:
    alice, bob = chat.user(), chat.user()
    first = chat.create_thread(alice, bob, topic="first")
    second = chat.create_thread(alice, topic="second")
    chat.create_thread(bob, topic="not alice's")
    chat.send(alice, first, "bump")
    listed = chat.call("GET", "/chat/threads", user=alice).json()["value"]
    assert [t["id"] for t in listed] == [first, second]
    assert all("lastMessageReceivedOn" in t for t in listed)


def test_chat_list_threads_pages_cover_all_once(chat: ChatHttp, chat_schemas: SpecSchemas
                                                ) -> None:
    alice = chat.user()
    created = {chat.create_thread(alice, topic=f"t{i}") for i in range(5)}
    pages = _all_pages(chat, alice, "/chat/threads", 2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert {t["id"] for page in pages for t in page} == created


def test_chat_list_threads_start_time_keeps_recent_activity(chat: ChatHttp) -> None:
    alice = chat.user()
    old = chat.create_thread(alice, topic="old")
    cut = dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=5)
    time.sleep(0.02)
    new = chat.create_thread(alice, topic="new")
    listed = chat.call("GET", "/chat/threads", user=alice,
                       params={"startTime": cut.isoformat()}).json()["value"]
    assert [t["id"] for t in listed] == [new]
    assert old not in [t["id"] for t in listed]


@pytest.mark.parametrize("params", [{"maxPageSize": 0}, {"maxPageSize": 201},
                                    {"maxPageSize": "ten"}, {"startTime": "soon"},
                                    {"syncState": "zz"},
                                    {"syncState": b'["a", "b", "c"]'.hex()},
                                    {"syncState": b'[1, "id", "soon"]'.hex()},
                                    {"syncState": b'[true, "id", null]'.hex()}])
def test_chat_list_threads_bad_query_400(chat: ChatHttp, chat_schemas: SpecSchemas,
                                         params: dict[str, Any]) -> None:
    _error(chat_schemas, chat.call("GET", "/chat/threads", user=chat.user(), params=params),
           400, "BadRequest")


# ---- participants


def test_chat_add_participants_new_member_sees_thread_existing_unchanged(
    chat: ChatHttp, chat_schemas: SpecSchemas
) -> None:
    alice, bob, carol = chat.user(), chat.user(), chat.user()
    thread_id = chat.create_thread(alice, bob)
    _error(chat_schemas, chat.call("GET", thread_url(thread_id), user=carol), 403, "Forbidden")
    response = chat.call("POST", thread_url(thread_id, "participants/:add"), {"participants": [
        {"communicationIdentifier": carol.identifier, "displayName": "Carol"},
        {"communicationIdentifier": bob.identifier, "displayName": "Renamed"}]}, user=bob)
    body = _valid(chat_schemas, response, "/chat/threads/{chatThreadId}/participants/:add",
                  "post", 201)
    assert body == {}
    assert chat.call("GET", thread_url(thread_id), user=carol).status_code == 200
    names = {p["communicationIdentifier"]["rawId"]: p.get("displayName") for p in chat.call(
        "GET", thread_url(thread_id, "participants"), user=carol).json()["value"]}
    assert names == {alice.id: None, bob.id: None, carol.id: "Carol"}
    added = chat.call("GET", thread_url(thread_id, "messages"), user=alice).json()["value"][0]
    assert added["type"] == "participantAdded"
    assert [p["communicationIdentifier"]["rawId"] for p in added["content"]["participants"]] \
        == [carol.id]


def test_chat_add_participants_empty_list_400(chat: ChatHttp, chat_schemas: SpecSchemas) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice)
    _error(chat_schemas, chat.call("POST", thread_url(thread_id, "participants/:add"),
                                   {"participants": []}, user=alice), 400, "BadRequest")


def test_chat_remove_participant_loses_access_and_is_announced(
    chat: ChatHttp, chat_schemas: SpecSchemas
) -> None:
    alice, bob = chat.user(), chat.user()
    thread_id = chat.create_thread(alice, bob)
    response = chat.call("POST", thread_url(thread_id, "participants/:remove"),
                         {"communicationUser": {"id": bob.id}}, user=alice)
    assert response.status_code == 204, response.text
    _error(chat_schemas, chat.call("GET", thread_url(thread_id, "messages"), user=bob), 403,
           "Forbidden")
    removed = chat.call("GET", thread_url(thread_id, "messages"), user=alice).json()["value"][0]
    assert removed["type"] == "participantRemoved"
    again = chat.call("POST", thread_url(thread_id, "participants/:remove"),
                      {"communicationUser": {"id": bob.id}}, user=alice)
    assert again.status_code == 204


def test_chat_list_participants_pages_with_skip(chat: ChatHttp, chat_schemas: SpecSchemas
                                                ) -> None:
    alice = chat.user()
    others = [chat.user() for _ in range(4)]
    thread_id = chat.create_thread(alice, *others)
    pages = _all_pages(chat, alice, thread_url(thread_id, "participants"), 2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [p["communicationIdentifier"]["rawId"] for page in pages for p in page] == [
        alice.id, *[o.id for o in others]]


# ---- messages


def test_chat_send_get_message_round_trips(chat: ChatHttp, chat_schemas: SpecSchemas) -> None:
    alice, bob = chat.user(), chat.user()
    thread_id = chat.create_thread(alice, bob)
    response = chat.call("POST", thread_url(thread_id, "messages"), {
        "content": "<b>hi</b>", "type": "html", "senderDisplayName": "Alice",
        "metadata": {"k": "v"}}, user=alice)
    sent = _valid(chat_schemas, response, "/chat/threads/{chatThreadId}/messages", "post", 201)
    assert response.headers["Location"].endswith(f"/messages/{sent['id']}")
    got = _valid(chat_schemas, chat.call("GET", thread_url(thread_id, "messages", sent["id"]),
                                         user=bob),
                 "/chat/threads/{chatThreadId}/messages/{chatMessageId}", "get", 200)
    assert got["content"] == {"message": "<b>hi</b>"}
    assert (got["type"], got["senderDisplayName"], got["metadata"]) == ("html", "Alice",
                                                                        {"k": "v"})
    assert got["senderCommunicationIdentifier"]["rawId"] == alice.id


@pytest.mark.parametrize("body", [{}, {"content": ""}, {"content": 1},
                                  {"content": "x", "type": "topicUpdated"},
                                  {"content": "x", "type": "video"},
                                  {"content": "x", "type": {}},
                                  {"content": "x", "metadata": {"k": 1}},
                                  {"content": "x" * (28 * 1024 + 1)}])
def test_chat_send_message_invalid_body_400_nothing_sent(
    chat: ChatHttp, chat_schemas: SpecSchemas, body: dict[str, Any]
) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice)
    _error(chat_schemas, chat.call("POST", thread_url(thread_id, "messages"), body, user=alice),
           400, "BadRequest")
    assert chat.threads()[0]["messages"] == 2  # participantAdded and topicUpdated only


def test_chat_list_messages_newest_first_pages_cover_all_once(
    chat: ChatHttp, chat_schemas: SpecSchemas
) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice)
    sent = [chat.send(alice, thread_id, f"m{i}") for i in range(5)]
    pages = _all_pages(chat, alice, thread_url(thread_id, "messages"), 3)
    for page in pages:
        chat_schemas.validate(chat_schemas.definition(CHAT, "ChatMessagesCollection"),
                              {"value": page})
    ids = [m["id"] for page in pages for m in page]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert ids[:5] == sent[::-1]
    sequence = [int(m["sequenceId"]) for page in pages for m in page]
    assert sequence == sorted(sequence, reverse=True) == list(range(7, 0, -1))


@pytest.mark.parametrize("sync_state", [b"[1]", b'[1, "x"]', b"[1.5, null]", b"{}"])
def test_chat_list_messages_foreign_sync_state_400(chat: ChatHttp, chat_schemas: SpecSchemas,
                                                   sync_state: bytes) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice)
    response = chat.call("GET", thread_url(thread_id, "messages"), user=alice,
                         params={"syncState": sync_state.hex()})
    _error(chat_schemas, response, 400, "BadRequest")


def test_chat_list_messages_start_time_keeps_changes_since(chat: ChatHttp) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice)
    old = chat.send(alice, thread_id, "old")
    edited = chat.send(alice, thread_id, "to edit")
    time.sleep(0.02)
    cut = dt.datetime.now(dt.UTC)
    time.sleep(0.02)
    new = chat.send(alice, thread_id, "new")
    chat.call("PATCH", thread_url(thread_id, "messages", edited), {"content": "edited"},
              user=alice)
    listed = chat.call("GET", thread_url(thread_id, "messages"), user=alice,
                       params={"startTime": cut.isoformat()}).json()["value"]
    assert [m["id"] for m in listed] == [new, edited]
    assert old not in [m["id"] for m in listed]


def test_chat_update_message_by_sender_edits_content_and_merges_metadata(
    chat: ChatHttp
) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice)
    response = chat.call("POST", thread_url(thread_id, "messages"),
                         {"content": "v1", "metadata": {"a": "1", "b": "2"}}, user=alice)
    message_id = response.json()["id"]
    before = chat.call("GET", thread_url(thread_id, "messages", message_id), user=alice).json()
    patched = chat.call("PATCH", thread_url(thread_id, "messages", message_id),
                        {"content": "v2", "metadata": {"a": None, "c": "3"}}, user=alice,
                        headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 204, patched.text
    after = chat.call("GET", thread_url(thread_id, "messages", message_id), user=alice).json()
    assert after["content"]["message"] == "v2"
    assert after["metadata"] == {"b": "2", "c": "3"}
    assert "editedOn" in after and int(after["version"]) > int(before["version"])


def test_chat_update_or_delete_message_of_someone_else_403_unchanged(
    chat: ChatHttp, chat_schemas: SpecSchemas
) -> None:
    alice, bob = chat.user(), chat.user()
    thread_id = chat.create_thread(alice, bob)
    message_id = chat.send(alice, thread_id, "mine")
    path = thread_url(thread_id, "messages", message_id)
    _error(chat_schemas, chat.call("PATCH", path, {"content": "theirs"}, user=bob), 403,
           "Forbidden")
    _error(chat_schemas, chat.call("DELETE", path, user=bob), 403, "Forbidden")
    assert chat.call("GET", path, user=alice).json()["content"]["message"] == "mine"


def test_chat_delete_message_keeps_place_without_content(chat: ChatHttp,
                                                         chat_schemas: SpecSchemas) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice)
    message_id = chat.send(alice, thread_id, "oops")
    path = thread_url(thread_id, "messages", message_id)
    assert chat.call("DELETE", path, user=alice).status_code == 204
    assert chat.call("DELETE", path, user=alice).status_code == 204
    got = _valid(chat_schemas, chat.call("GET", path, user=alice),
                 "/chat/threads/{chatThreadId}/messages/{chatMessageId}", "get", 200)
    assert "deletedOn" in got and "content" not in got
    _error(chat_schemas, chat.call("PATCH", path, {"content": "x"}, user=alice), 404, "NotFound")


def test_chat_get_unknown_message_404(chat: ChatHttp, chat_schemas: SpecSchemas) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice)
    _error(chat_schemas, chat.call("GET", thread_url(thread_id, "messages", "1"), user=alice),
           404, "NotFound")


def test_chat_share_history_time_hides_older_messages(chat: ChatHttp) -> None:
    alice, bob = chat.user(), chat.user()
    thread_id = chat.create_thread(alice)
    early = chat.send(alice, thread_id, "before bob")
    time.sleep(0.02)
    share = dt.datetime.now(dt.UTC).isoformat()
    chat.call("POST", thread_url(thread_id, "participants/:add"), {"participants": [
        {"communicationIdentifier": bob.identifier, "shareHistoryTime": share}]}, user=alice)
    late = chat.send(alice, thread_id, "after bob")
    seen = [m["id"] for m in chat.call("GET", thread_url(thread_id, "messages"),
                                       user=bob).json()["value"]]
    assert late in seen and early not in seen
    assert chat.call("GET", thread_url(thread_id, "messages", early), user=bob).status_code \
        == 404


# ---- read receipts and typing


def test_chat_read_receipts_latest_per_reader(chat: ChatHttp, chat_schemas: SpecSchemas) -> None:
    alice, bob = chat.user(), chat.user()
    thread_id = chat.create_thread(alice, bob)
    first, second = chat.send(alice, thread_id, "1"), chat.send(alice, thread_id, "2")
    path = thread_url(thread_id, "readReceipts")
    for message_id in (second, first):  # an older receipt does not move it back
        response = chat.call("POST", path, {"chatMessageId": message_id}, user=bob)
        assert response.status_code == 200 and response.content == b""
    body = _valid(chat_schemas, chat.call("GET", path, user=alice),
                  "/chat/threads/{chatThreadId}/readReceipts", "get", 200)
    assert [(r["senderCommunicationIdentifier"]["rawId"], r["chatMessageId"])
            for r in body["value"]] == [(bob.id, second)]


def test_chat_read_receipt_unknown_message_404(chat: ChatHttp, chat_schemas: SpecSchemas) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice)
    _error(chat_schemas, chat.call("POST", thread_url(thread_id, "readReceipts"),
                                   {"chatMessageId": "42"}, user=alice), 404, "NotFound")
    _error(chat_schemas, chat.call("POST", thread_url(thread_id, "readReceipts"), {},
                                   user=alice), 400, "BadRequest")


def test_chat_read_receipts_page_with_skip(chat: ChatHttp) -> None:
    alice = chat.user()
    readers = [chat.user() for _ in range(3)]
    thread_id = chat.create_thread(alice, *readers)
    message_id = chat.send(alice, thread_id)
    for reader in readers:
        chat.call("POST", thread_url(thread_id, "readReceipts"), {"chatMessageId": message_id},
                  user=reader)
    pages = _all_pages(chat, alice, thread_url(thread_id, "readReceipts"), 2)
    assert [len(page) for page in pages] == [2, 1]
    assert [r["senderCommunicationIdentifier"]["rawId"] for page in pages for r in page] == [
        reader.id for reader in readers]


def test_chat_typing_notification_200_recorded(chat: ChatHttp) -> None:
    alice = chat.user()
    thread_id = chat.create_thread(alice)
    response = chat.call("POST", thread_url(thread_id, "typing"),
                         {"senderDisplayName": "Alice"}, user=alice)
    assert response.status_code == 200 and response.content == b""
    bare = chat.call("POST", thread_url(thread_id, "typing"), None, user=alice)
    assert bare.status_code == 200
    assert [(t["sender"], t["senderDisplayName"]) for t in chat.threads()[0]["typing"]] == [
        (alice.id, "Alice"), (alice.id, None)]
