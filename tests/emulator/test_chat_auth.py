"""Who may call the emulator's Chat API: user access tokens checked as ACS checks them, the
limits of the chat.join scopes, participants only, and the admin hooks (faults, counters,
reset) for chat."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.client import EmulatorClient
from tests.emulator.acs_http import identity_path
from tests.emulator.chat_http import ChatHttp, User, thread_url
from tests.emulator.spec_schemas import SpecSchemas

CHAT = "Chat/stable/2024-03-07/communicationserviceschat.json"


def _refused(schemas: SpecSchemas, response: requests.Response, status: int, path: str,
             method: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    schemas.validate(schemas.response_schema(CHAT, path, method, status), body)
    return body


def _other_key_token(token: str) -> str:
    """The same claims, signed by a key that is not the resource's."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, rsa.generate_private_key(65537, 2048), algorithm="RS256")


def test_chat_auth_valid_user_token_accepted(chat: ChatHttp) -> None:
    response = chat.call("GET", "/chat/threads", user=chat.user())
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("case", ["missing", "hmac", "managed_identity", "other_key", "garbage",
                                  "expired", "no_chat_scope", "basic_scheme"])
def test_chat_auth_bad_credential_401_nothing_created(
    chat: ChatHttp, chat_schemas: SpecSchemas, case: str
) -> None:
    user = chat.user()
    body = {"topic": "t"}
    if case == "hmac":
        target = "/chat/threads?api-version=2024-03-07"
        raw = b'{"topic": "t"}'
        response = chat.http.post(chat.endpoint + target, data=raw, timeout=10,
                                  headers=chat.acs.hmac_headers("POST", target, raw))
    else:
        headers = {}
        token = {
            "missing": None,
            "managed_identity": chat.acs.mi_token(),
            "other_key": _other_key_token(user.token),
            "garbage": "not-a-jwt",
            "expired": chat.admin_token(user.id, -60),
            "no_chat_scope": chat.token(user.id, "voip"),
            "basic_scheme": None,
        }[case]
        if case == "basic_scheme":
            headers["Authorization"] = "Basic dXNlcjpwYXNz"
        response = chat.call("POST", "/chat/threads", body, token=token, headers=headers)
    error = _refused(chat_schemas, response, 401, "/chat/threads", "post")
    assert error["error"]["code"] == "Unauthorized"
    assert user.token not in response.text
    assert chat.threads() == []


def test_chat_auth_revoked_token_401_new_token_works(chat: ChatHttp, chat_schemas: SpecSchemas
                                                     ) -> None:
    user = chat.user()
    thread_id = chat.create_thread(user)
    revoke = chat.acs.call("POST", identity_path(user.id, "revokeAccessTokens"))
    assert revoke.status_code == 204
    _refused(chat_schemas, chat.call("GET", thread_url(thread_id), user=user), 401,
             "/chat/threads/{chatThreadId}", "get")
    fresh = User(user.id, chat.token(user.id))
    assert chat.call("GET", thread_url(thread_id), user=fresh).status_code == 200


def test_chat_auth_deleted_identity_401(chat: ChatHttp, chat_schemas: SpecSchemas) -> None:
    user = chat.user()
    thread_id = chat.create_thread(user)
    assert chat.acs.call("DELETE", identity_path(user.id)).status_code == 204
    body = _refused(chat_schemas, chat.call("GET", thread_url(thread_id, "messages"), user=user),
                    401, "/chat/threads/{chatThreadId}/messages", "get")
    assert "deleted" in body["error"]["message"]


def test_chat_auth_non_participant_403_on_every_thread_operation(
    chat: ChatHttp, chat_schemas: SpecSchemas
) -> None:
    owner, stranger = chat.user(), chat.user()
    thread_id = chat.create_thread(owner)
    message_id = chat.send(owner, thread_id)
    calls = [
        ("GET", thread_url(thread_id), None, "/chat/threads/{chatThreadId}", "get"),
        ("PATCH", thread_url(thread_id), {"topic": "x"}, "/chat/threads/{chatThreadId}",
         "patch"),
        ("DELETE", thread_url(thread_id), None, "/chat/threads/{chatThreadId}", "delete"),
        ("GET", thread_url(thread_id, "participants"), None,
         "/chat/threads/{chatThreadId}/participants", "get"),
        ("POST", thread_url(thread_id, "participants/:add"),
         {"participants": [{"communicationIdentifier": stranger.identifier}]},
         "/chat/threads/{chatThreadId}/participants/:add", "post"),
        ("POST", thread_url(thread_id, "participants/:remove"), owner.identifier,
         "/chat/threads/{chatThreadId}/participants/:remove", "post"),
        ("POST", thread_url(thread_id, "messages"), {"content": "x"},
         "/chat/threads/{chatThreadId}/messages", "post"),
        ("GET", thread_url(thread_id, "messages"), None,
         "/chat/threads/{chatThreadId}/messages", "get"),
        ("GET", thread_url(thread_id, "messages", message_id), None,
         "/chat/threads/{chatThreadId}/messages/{chatMessageId}", "get"),
        ("PATCH", thread_url(thread_id, "messages", message_id), {"content": "x"},
         "/chat/threads/{chatThreadId}/messages/{chatMessageId}", "patch"),
        ("DELETE", thread_url(thread_id, "messages", message_id), None,
         "/chat/threads/{chatThreadId}/messages/{chatMessageId}", "delete"),
        ("POST", thread_url(thread_id, "readReceipts"), {"chatMessageId": message_id},
         "/chat/threads/{chatThreadId}/readReceipts", "post"),
        ("GET", thread_url(thread_id, "readReceipts"), None,
         "/chat/threads/{chatThreadId}/readReceipts", "get"),
        ("POST", thread_url(thread_id, "typing"), {}, "/chat/threads/{chatThreadId}/typing",
         "post"),
    ]
    for method, path, body, spec_path, spec_method in calls:
        response = chat.call(method, path, body, user=stranger)
        assert _refused(chat_schemas, response, 403, spec_path, spec_method)["error"]["code"] \
            == "Forbidden", (method, path)
    summary = chat.threads()[0]
    assert (summary["participants"], summary["messages"], summary["topic"]) == (
        [owner.id], 3, "Lunch")
    assert chat.call("GET", thread_url(thread_id, "messages", message_id),
                     user=owner).json()["content"]["message"] == "hello"


@pytest.mark.parametrize("scope", ["chat.join", "chat.join.limited"])
def test_chat_auth_join_scopes_cannot_manage_threads_403(
    chat: ChatHttp, chat_schemas: SpecSchemas, scope: str
) -> None:
    owner = chat.user()
    joiner = chat.user(scope)
    thread_id = chat.create_thread(owner, joiner, topic="Kept")
    for method, path, body, spec_path in [
        ("POST", "/chat/threads", {"topic": "new"}, "/chat/threads"),
        ("PATCH", thread_url(thread_id), {"topic": "changed"}, "/chat/threads/{chatThreadId}"),
        ("DELETE", thread_url(thread_id), None, "/chat/threads/{chatThreadId}"),
    ]:
        response = chat.call(method, path, body, user=joiner)
        _refused(chat_schemas, response, 403, spec_path, method.lower())
    assert [(t["topic"], "deletedOn" in t) for t in chat.threads()] == [("Kept", False)]


@pytest.mark.parametrize("scope", ["chat.join", "chat.join.limited"])
def test_chat_auth_join_scopes_read_send_receipts_typing_allowed(chat: ChatHttp,
                                                                 scope: str) -> None:
    owner = chat.user()
    joiner = chat.user(scope)
    thread_id = chat.create_thread(owner, joiner)
    message_id = chat.send(joiner, thread_id, "joined")
    assert chat.call("GET", thread_url(thread_id, "messages"), user=joiner).status_code == 200
    assert chat.call("POST", thread_url(thread_id, "readReceipts"),
                     {"chatMessageId": message_id}, user=joiner).status_code == 200
    assert chat.call("POST", thread_url(thread_id, "typing"), {}, user=joiner).status_code \
        == 200
    assert chat.call("GET", "/chat/threads", user=joiner).json()["value"][0]["id"] == thread_id


def test_chat_auth_join_scope_may_add_and_remove_participants(chat: ChatHttp) -> None:
    owner, joiner, guest = chat.user(), chat.user("chat.join"), chat.user()
    thread_id = chat.create_thread(owner, joiner)
    added = chat.call("POST", thread_url(thread_id, "participants/:add"),
                      {"participants": [{"communicationIdentifier": guest.identifier}]},
                      user=joiner)
    assert added.status_code == 201, added.text
    removed = chat.call("POST", thread_url(thread_id, "participants/:remove"), guest.identifier,
                        user=joiner)
    assert removed.status_code == 204
    assert sorted(chat.threads()[0]["participants"]) == sorted([owner.id, joiner.id])


def test_chat_auth_join_limited_scope_cannot_add_or_remove_participants_403(
    chat: ChatHttp, chat_schemas: SpecSchemas
) -> None:
    owner, limited, guest = chat.user(), chat.user("chat.join.limited"), chat.user()
    thread_id = chat.create_thread(owner, limited)
    added = chat.call("POST", thread_url(thread_id, "participants/:add"),
                      {"participants": [{"communicationIdentifier": guest.identifier}]},
                      user=limited)
    _refused(chat_schemas, added, 403, "/chat/threads/{chatThreadId}/participants/:add", "post")
    removed = chat.call("POST", thread_url(thread_id, "participants/:remove"), owner.identifier,
                        user=limited)
    _refused(chat_schemas, removed, 403, "/chat/threads/{chatThreadId}/participants/:remove",
             "post")
    assert sorted(chat.threads()[0]["participants"]) == sorted([owner.id, limited.id])


def test_chat_auth_checked_before_api_version(chat: ChatHttp) -> None:
    assert chat.call("GET", "/chat/threads", api_version=None).status_code == 401
    user = chat.user()
    missing = chat.call("GET", "/chat/threads", user=user, api_version=None)
    assert (missing.status_code, missing.json()["error"]["code"]) == (400,
                                                                      "ApiVersionUnspecified")
    other = chat.call("GET", "/chat/threads", user=user, api_version="2021-09-07")
    assert (other.status_code, other.json()["error"]["code"]) == (400, "InvalidApiVersion")


# ---- admin: faults, counters, reset


def test_chat_fault_answers_status_before_auth_then_clears(
    chat: ChatHttp, emulator: EmulatorClient, chat_schemas: SpecSchemas
) -> None:
    user = chat.user()
    thread_id = chat.create_thread(user)
    emulator.fault("chat.sendMessage", 429, retryAfter=2)
    faulted = chat.call("POST", thread_url(thread_id, "messages"), {"content": "x"}, user=user)
    body = _refused(chat_schemas, faulted, 429, "/chat/threads/{chatThreadId}/messages", "post")
    assert (body["error"]["code"], faulted.headers["Retry-After"]) == ("TooManyRequests", "2")
    assert chat.call("POST", thread_url(thread_id, "messages"), {"content": "x"},
                     user=user).status_code == 201
    assert emulator.counters()["chat.sendMessage"] == 2
    assert chat.threads()[0]["messages"] == 3


def test_chat_counters_count_refused_calls_and_list_every_operation(
    chat: ChatHttp, emulator: EmulatorClient
) -> None:
    user = chat.user()
    thread_id = chat.create_thread(user)
    chat.call("GET", thread_url(thread_id), token="bad")
    chat.call("GET", "/chat/threads", user=user)
    counters = emulator.counters()
    assert (counters["chat.createThread"], counters["chat.getThread"],
            counters["chat.listThreads"], counters["chat.deleteThread"]) == (1, 1, 1, 0)
    assert {name for name in counters if name.startswith("chat.")} >= {
        "chat.addParticipants", "chat.removeParticipant", "chat.listParticipants",
        "chat.getMessage", "chat.listMessages", "chat.updateMessage", "chat.deleteMessage",
        "chat.sendReadReceipt", "chat.listReadReceipts", "chat.sendTyping",
        "chat.updateThread"}


def test_chat_reset_forgets_threads(chat: ChatHttp, emulator: EmulatorClient) -> None:
    user = chat.user()
    chat.create_thread(user)
    emulator.reset()
    assert chat.threads() == []
    assert emulator.counters()["chat.createThread"] == 0


def test_chat_admin_issue_token_unknown_identity_401(chat: ChatHttp) -> None:
    response = chat.http.post(f"{chat.admin}/tokens/issue", timeout=10,
                              json={"id": "8:acs:nobody", "ttl": 60})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "IdentityNotOwned")
