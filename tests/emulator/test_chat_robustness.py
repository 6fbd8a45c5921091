"""Bad input on the Chat API gets ACS's error envelope with a 4xx status, never a 5xx: malformed
JSON on every route that takes a body, and seeded random mutations of valid bodies."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from tests.emulator.chat_http import ChatHttp, User, thread_url

ODD_VALUES: list[Any] = [
    None, 0, -1, 1.5, True, "", "x", "\u0000", "a" * 300, [], {}, [{}], {"k": None},
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-14:00", {"communicationUser": {"id": 5}},
    {"rawId": "8:acs:x"}, {"phoneNumber": {"value": "+1"}}, {"kind": {}},
]


def _routes(chat: ChatHttp, user: User, other: User) -> list[tuple[str, str, dict[str, Any]]]:
    """Every chat route that takes a body, with a valid body for it."""
    thread_id = chat.create_thread(user, other)
    message_id = chat.send(user, thread_id)
    someone = {"communicationIdentifier": other.identifier, "displayName": "d",
               "shareHistoryTime": "2020-01-01T00:00:00Z"}
    return [
        ("POST", "/chat/threads", {"topic": "t", "participants": [someone]}),
        ("PATCH", thread_url(thread_id), {"topic": "t"}),
        ("POST", thread_url(thread_id, "participants/:add"), {"participants": [someone]}),
        ("POST", thread_url(thread_id, "participants/:remove"), dict(other.identifier)),
        ("POST", thread_url(thread_id, "messages"),
         {"content": "c", "type": "text", "senderDisplayName": "s", "metadata": {"k": "v"}}),
        ("PATCH", thread_url(thread_id, "messages", message_id),
         {"content": "c", "metadata": {"k": "v"}}),
        ("POST", thread_url(thread_id, "readReceipts"), {"chatMessageId": message_id}),
        ("POST", thread_url(thread_id, "typing"), {"senderDisplayName": "s"}),
    ]


def _mutate(value: Any, rnd: random.Random, depth: int = 0) -> Any:
    """`value` with one leaf (at any depth) replaced by an odd value."""
    if isinstance(value, dict) and value:
        key = rnd.choice(sorted(value))
        value[key] = _mutate(value[key], rnd, depth + 1) if rnd.random() < 0.6 else \
            rnd.choice(ODD_VALUES)
        return value
    if isinstance(value, list) and value:
        index = rnd.randrange(len(value))
        value[index] = _mutate(value[index], rnd, depth + 1)
        return value
    return copy.deepcopy(rnd.choice(ODD_VALUES))


def _assert_client_error(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)


@pytest.mark.parametrize("raw", [b"{", b"[]", b'"text"', b"null", b"\xff\xfe", b"42"])
def test_chat_robustness_malformed_json_400_on_every_body_route(chat: ChatHttp,
                                                                raw: bytes) -> None:
    user, other = chat.user(), chat.user()
    for method, path, _ in _routes(chat, user, other):
        if path.endswith("/typing") and raw == b"null":
            continue  # an empty typing notification is valid
        response = chat.http.request(method, f"{chat.endpoint}{path}", data=raw, timeout=10,
                                     params={"api-version": "2024-03-07"},
                                     headers={"Authorization": f"Bearer {user.token}",
                                              "Content-Type": "application/json"})
        assert response.status_code == 400, (method, path, response.text)
        _assert_client_error(response)


def test_chat_robustness_mutated_bodies_never_5xx(chat: ChatHttp) -> None:
    user, other = chat.user(), chat.user()
    routes = _routes(chat, user, other)
    rnd = random.Random(13)
    for _ in range(300):
        method, path, body = rnd.choice(routes)
        response = chat.call(method, path, _mutate(copy.deepcopy(body), rnd), user=user)
        if response.status_code >= 400:
            _assert_client_error(response)
        else:
            assert response.status_code in (200, 201, 204), response.text


@pytest.mark.parametrize("params", [
    {"maxPageSize": "-1"}, {"maxPageSize": "1e3"}, {"skip": "-5"}, {"skip": "x"},
    {"startTime": "0001-01-01T00:00:00+05:00"}, {"startTime": "2020-13-01T00:00:00Z"},
    {"syncState": "00"}, {"syncState": "5b5d"},
])
def test_chat_robustness_bad_list_queries_400(chat: ChatHttp, params: dict[str, str]) -> None:
    user = chat.user()
    thread_id = chat.create_thread(user)
    for path in ("/chat/threads", thread_url(thread_id, "messages"),
                 thread_url(thread_id, "participants"), thread_url(thread_id, "readReceipts")):
        relevant = {k: v for k, v in params.items()
                    if k == "maxPageSize"
                    or (k == "skip" and path.endswith(("participants", "readReceipts")))
                    or (k in ("startTime", "syncState") and path.endswith(("threads",
                                                                           "messages")))}
        if not relevant:
            continue
        response = chat.call("GET", path, user=user, params=relevant)
        assert response.status_code == 400, (path, relevant, response.text)
        _assert_client_error(response)


@pytest.mark.parametrize("body", [{}, {"id": 5}, {"id": "x", "ttl": "long"},
                                  {"id": "x", "ttl": 10**6}, {"id": "x", "scopes": ["nope"]}])
def test_chat_robustness_bad_admin_token_requests_400(chat: ChatHttp,
                                                      body: dict[str, Any]) -> None:
    response = chat.http.post(f"{chat.admin}/tokens/issue", json=body, timeout=10)
    assert response.status_code == 400, response.text
    _assert_client_error(response)
