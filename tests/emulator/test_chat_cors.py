"""CORS on the emulator's Chat API, as a browser app that calls Chat directly sees it:
preflights for any origin, and the origin echoed on every chat answer, errors included."""

from __future__ import annotations

import pytest

from tests.emulator.chat_http import ChatHttp, thread_url

ORIGIN = "http://localhost:5173"
SDK_HEADERS = "authorization,content-type,repeatability-request-id,x-ms-client-request-id," \
              "x-ms-useragent"


def _preflight(chat: ChatHttp, path: str, method: str, headers: str) -> dict[str, str]:
    response = chat.http.options(chat.endpoint + path + "?api-version=2024-03-07", timeout=10,
                                 headers={"Origin": ORIGIN,
                                          "Access-Control-Request-Method": method,
                                          "Access-Control-Request-Headers": headers})
    assert response.status_code == 200, response.text
    assert response.content == b""
    return dict(response.headers)


@pytest.mark.parametrize(("path", "method"), [
    ("/chat/threads", "POST"),
    (thread_url("19:abc@thread.v2"), "PATCH"),
    (thread_url("19:abc@thread.v2", "messages", "1"), "DELETE"),
])
def test_chat_cors_preflight_allows_origin_methods_and_sdk_headers(
    chat: ChatHttp, path: str, method: str
) -> None:
    headers = _preflight(chat, path, method, SDK_HEADERS)
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert method in [m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")]
    assert headers["Access-Control-Allow-Headers"].split(", ") == SDK_HEADERS.split(",")
    assert int(headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in headers


def test_chat_cors_preflight_leaves_out_unknown_headers(chat: ChatHttp) -> None:
    headers = _preflight(chat, "/chat/threads", "POST", "authorization,x-secret-thing")
    assert headers["Access-Control-Allow-Headers"] == "authorization"


def test_chat_cors_preflight_needs_no_token_and_counts_nothing(chat: ChatHttp) -> None:
    _preflight(chat, "/chat/threads", "GET", "authorization")
    counters = chat.http.get(f"{chat.admin}/counters", timeout=10).json()
    assert all(count == 0 for name, count in counters.items() if name.startswith("chat."))


def test_chat_cors_answers_echo_origin_and_expose_location(chat: ChatHttp) -> None:
    user = chat.user()
    created = chat.call("POST", "/chat/threads", {"topic": "web"}, user=user,
                        headers={"Origin": ORIGIN})
    assert created.status_code == 201
    assert created.headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = [h.strip() for h in created.headers["Access-Control-Expose-Headers"].split(",")]
    assert "Location" in exposed and "x-ms-client-request-id" in exposed
    assert "Origin" in created.headers["Vary"]


def test_chat_cors_error_answers_carry_origin_too(chat: ChatHttp) -> None:
    """So a browser app can read the 401 and refresh its token."""
    refused = chat.call("GET", "/chat/threads", headers={"Origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_chat_cors_not_on_other_surfaces(chat: ChatHttp) -> None:
    preflight = chat.http.options(chat.endpoint + "/identities?api-version=2023-10-01",
                                  timeout=10, headers={"Origin": ORIGIN,
                                                       "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 405
    assert "Access-Control-Allow-Origin" not in preflight.headers
