"""A raw client for the emulator's Chat API: users with tokens of chosen scopes (made through
the Identity API, or the admin API for odd lifetimes), and requests with a user's token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from tests.emulator.acs_http import AcsHttp, identity_path

CHAT_API = "2024-03-07"


@dataclass(frozen=True)
class User:
    id: str
    token: str

    @property
    def identifier(self) -> dict[str, Any]:
        return {"communicationUser": {"id": self.id}}


def thread_url(thread_id: str, *parts: str) -> str:
    """`/chat/threads/{id}/...` with the id percent-encoded as the SDKs send it."""
    return "/".join([f"/chat/threads/{quote(thread_id, safe='')}", *parts])


class ChatHttp:
    def __init__(self, acs: AcsHttp) -> None:
        self.acs = acs
        self.endpoint = acs.endpoint
        self.admin = acs.settings["EMULATOR_ADMIN"].rstrip("/")
        self.http = acs.http

    def user(self, *scopes: str) -> User:
        identity_id = self.acs.create_identity()
        return User(identity_id, self.token(identity_id, *scopes))

    def token(self, identity_id: str, *scopes: str) -> str:
        response = self.acs.call("POST", identity_path(identity_id, "issueAccessToken"),
                                 {"scopes": list(scopes or ("chat",))})
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def admin_token(self, identity_id: str, ttl: int, *scopes: str) -> str:
        response = self.http.post(f"{self.admin}/tokens/issue", timeout=10, json={
            "id": identity_id, "scopes": list(scopes or ("chat",)), "ttl": ttl})
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def call(self, method: str, path: str, body: Any = None, *, user: User | None = None,
             token: str | None = None, api_version: str | None = CHAT_API,
             params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
             url: str | None = None) -> requests.Response:
        """With `user`'s token unless `token` is given; `url` (a next link) replaces path."""
        all_headers = {}
        bearer = token if token is not None else (user.token if user else None)
        if bearer is not None:
            all_headers["Authorization"] = f"Bearer {bearer}"
        all_headers.update(headers or {})
        query = dict(params or {})
        if api_version is not None and url is None:
            query["api-version"] = api_version
        return self.http.request(method, url or self.endpoint + path, json=body,
                                 params=query or None, headers=all_headers, timeout=30)

    def create_thread(self, user: User, *others: User, topic: str = "Lunch") -> str:
        body = {"topic": topic,
                "participants": [{"communicationIdentifier": other.identifier}
                                 for other in others]}
        response = self.call("POST", "/chat/threads", body, user=user)
        assert response.status_code == 201, response.text
        thread_id: str = response.json()["chatThread"]["id"]
        return thread_id

    def send(self, user: User, thread_id: str, content: str = "hello") -> str:
        response = self.call("POST", thread_url(thread_id, "messages"), {"content": content},
                             user=user)
        assert response.status_code == 201, response.text
        message_id: str = response.json()["id"]
        return message_id

    def threads(self) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.admin}/chat/threads", timeout=10)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result
