"""Bad bodies get a clear 4xx problem+json and change nothing: no ACS call, no map row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import CreateIdentity
import IssueToken
from devhost.direct import http_request, json_body
from emulator.client import EmulatorClient
from shared.edge.http import MAX_BODY_BYTES

JSON = {"Content-Type": "application/json"}

BAD_TOKEN_BODIES: dict[str, tuple[bytes, dict[str, str], int, str | None]] = {
    # name: (raw body, headers, status, JSON pointer expected in `errors`)
    "not_json": (b"{scopes: chat}", JSON, 400, None),
    "truncated_json": (b'{"scopes": ["chat"', JSON, 400, None),
    "not_utf8": (b'{"scopes": ["\xff"]}', JSON, 400, None),
    "nan": (b'{"expiresInMinutes": NaN}', JSON, 400, None),
    "duplicate_keys": (b'{"scopes": ["chat"], "scopes": ["voip"]}', JSON, 400, None),
    "array_body": (b'["chat"]', JSON, 400, None),
    "string_body": (b'"chat"', JSON, 400, None),
    "scopes_not_list": (b'{"scopes": "chat"}', JSON, 400, "/scopes"),
    "scopes_empty": (b'{"scopes": []}', JSON, 400, "/scopes"),
    "scope_unknown": (b'{"scopes": ["chat", "admin"]}', JSON, 400, "/scopes/1"),
    "scope_not_string": (b'{"scopes": [1]}', JSON, 400, "/scopes/0"),
    "expiry_too_short": (b'{"expiresInMinutes": 59}', JSON, 400, "/expiresInMinutes"),
    "expiry_too_long": (b'{"expiresInMinutes": 1441}', JSON, 400, "/expiresInMinutes"),
    "expiry_string": (b'{"expiresInMinutes": "60"}', JSON, 400, "/expiresInMinutes"),
    "expiry_bool": (b'{"expiresInMinutes": true}', JSON, 400, "/expiresInMinutes"),
    "expiry_fraction": (b'{"expiresInMinutes": 60.5}', JSON, 400, "/expiresInMinutes"),
    "unknown_field": (b'{"scopes": ["chat"], "userId": "someone"}', JSON, 400, "/userId"),
    "wrong_media_type": (b'{"scopes": ["chat"]}', {"Content-Type": "text/plain"}, 415, None),
    "oversized": (b'{"x": "' + b"a" * MAX_BODY_BYTES + b'"}', JSON, 413, None),
    "deeply_nested": (b"[" * 100_000 + b"]" * 100_000, JSON, 413, None),
}


def _assert_no_side_effect(emulator: EmulatorClient, rows: list[dict[str, object]]) -> None:
    counters = emulator.counters()
    assert counters["identity.create"] == counters["identity.issueToken"] == 0
    assert emulator.identities() == []
    assert rows == []


@pytest.mark.parametrize("case", sorted(BAD_TOKEN_BODIES))
def test_issue_token_bad_body_problem_without_side_effects(
    case: str, app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    mapped_rows: Callable[[], list[dict[str, object]]],
) -> None:
    raw, headers, status, pointer = BAD_TOKEN_BODIES[case]

    response = IssueToken.main(
        http_request("POST", "token", token=user_token, headers=headers, raw=raw)
    )

    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = json_body(response)
    assert body["status"] == status
    assert body["type"].startswith("urn:") and body["title"] and body["detail"]
    if pointer is not None:
        assert pointer in [e["pointer"] for e in body["errors"]]
    assert "Traceback" not in response.get_body().decode()
    _assert_no_side_effect(emulator, mapped_rows())


@pytest.mark.parametrize("raw", [b'{"communicationUserId": "8:acs:x"}', b"[]", b"nope"])
def test_create_identity_body_with_content_refused_without_side_effects(
    raw: bytes, app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    mapped_rows: Callable[[], list[dict[str, object]]],
) -> None:
    response = CreateIdentity.main(
        http_request("POST", "identities", token=user_token, headers=JSON, raw=raw)
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    _assert_no_side_effect(emulator, mapped_rows())


def test_create_identity_empty_object_body_accepted(
    app_env: dict[str, str], user_token: str
) -> None:
    response = CreateIdentity.main(http_request("POST", "identities", token=user_token, body={}))
    assert response.status_code == 201


def test_issue_token_unauthenticated_body_not_examined(
    app_env: dict[str, str], emulator: EmulatorClient
) -> None:
    # Authentication comes first: an anonymous caller learns nothing about body validation.
    response = IssueToken.main(http_request("POST", "token", headers=JSON, raw=b"{bad"))
    assert response.status_code == 401
