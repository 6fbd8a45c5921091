"""Bad lifecycle input gets a clear 400 problem and changes nothing: no ACS call, no row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import azure.functions as func
import pytest

import MyIdentity
import RevokeMyTokens
from devhost.direct import http_request, json_body
from emulator.client import EmulatorClient
from tests.token.issue import issue_token
from tests.token.test_lifecycle_admin import ADMIN_ROUTES, call

Rows = Callable[[], list[dict[str, object]]]

BAD_USER_KEYS = {
    "empty": "",
    "no_namespace": "user-1",
    "unknown_namespace": "upn:user-1@contoso.com",
    "upper_case_namespace": "SUB:user-1",
    "empty_value": "sub:",
    "blank_value": "sub:   ",
    "too_long": "sub:" + "a" * 257,
    "control_character": "sub:user\n1",
    "trailing_newline": "sub:user-1\n",
    "nul": "oid:a\x00b",
}
BAD_IDENTITY_IDS = {
    "empty": "",
    "not_acs": "user-1",
    "other_kind": "8:spool:abc",
    "teams_user": "8:orgid:0f5c2a3e",
    "prefix_only": "8:acs:",
    "space": "8:acs:abc def",
    "too_long": "8:acs:" + "a" * 201,
    "percent_left_encoded": "8%3Aacs%3Aabc",
    "trailing_newline": "8:acs:abc\n",
}
USER_ROUTES = ("get_user_identity", "delete_user_identity", "revoke_user_tokens")


@dataclass(frozen=True)
class Seeded:
    """A user's identity and live token, an admin's token, then the emulator's counters."""

    emulator: EmulatorClient
    issued: dict[str, str]
    admin_token: str
    counters: dict[str, int]

    def assert_400_unchanged(self, response: func.HttpResponse) -> None:
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"
        body = json_body(response)
        assert body["status"] == 400 and body["detail"]
        assert "Traceback" not in response.get_body().decode()
        assert self.emulator.counters() == self.counters
        assert self.emulator.verify_token(self.issued["token"]) == {"valid": True}


@pytest.fixture
def seeded(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str, admin_token: str
) -> Seeded:
    issued = issue_token(user_token)
    return Seeded(emulator, issued, admin_token, emulator.counters())


@pytest.mark.parametrize("route", USER_ROUTES)
@pytest.mark.parametrize("key", sorted(BAD_USER_KEYS))
def test_admin_user_route_bad_user_key_400_no_side_effect(
    route: str, key: str, seeded: Seeded, mapped_rows: Rows
) -> None:
    response = call(route, BAD_USER_KEYS[key], seeded.admin_token)

    seeded.assert_400_unchanged(response)
    assert len(mapped_rows()) == 1


@pytest.mark.parametrize("identity", sorted(BAD_IDENTITY_IDS))
def test_identity_lookup_bad_identity_id_400(identity: str, seeded: Seeded) -> None:
    response = call("lookup_identity", BAD_IDENTITY_IDS[identity], seeded.admin_token)

    seeded.assert_400_unchanged(response)


def _me_request(method: str, route: str, token: str, raw: bytes) -> func.HttpRequest:
    return http_request(method, route, token=token, raw=raw,
                        headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("raw", [b"{}", b'{"userKey": "sub:someone-else"}', b"null", b"x"])
@pytest.mark.parametrize(
    ("main", "method", "route"),
    [(MyIdentity.main, "GET", "identities/me"), (MyIdentity.main, "DELETE", "identities/me"),
     (RevokeMyTokens.main, "POST", "identities/me/revoke")],
    ids=["get_me", "delete_me", "revoke_me"],
)
def test_my_identity_route_with_body_400_no_side_effect(
    main: Callable[[func.HttpRequest], func.HttpResponse], method: str, route: str, raw: bytes,
    seeded: Seeded, user_token: str, mapped_rows: Rows,
) -> None:
    response = main(_me_request(method, route, user_token, raw))

    seeded.assert_400_unchanged(response)
    assert len(mapped_rows()) == 1


@pytest.mark.parametrize("case", sorted(ADMIN_ROUTES))
def test_admin_route_with_body_400_no_side_effect(case: str, seeded: Seeded) -> None:
    identity = seeded.issued["communicationUserId"]
    value = identity if case == "lookup_identity" else "sub:user-1"

    response = call(case, value, seeded.admin_token, raw=b'{"force": true}',
                    headers={"Content-Type": "application/json"})

    seeded.assert_400_unchanged(response)


def test_admin_route_bad_key_without_role_403_before_validation(
    app_env: dict[str, str], user_token: str
) -> None:
    # The role is checked before the input: a caller without it learns nothing about keys.
    assert call("get_user_identity", "bad", user_token).status_code == 403


def test_my_identity_unauthenticated_body_not_examined_401(app_env: dict[str, str]) -> None:
    response = MyIdentity.main(_me_request("DELETE", "identities/me", "", b"{bad"))
    assert response.status_code == 401
