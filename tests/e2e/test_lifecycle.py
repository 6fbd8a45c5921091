"""The identity lifecycle over real HTTP through the local host, checked against openapi.yaml."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from emulator.client import EmulatorClient
from tests.devhost.apps import wait_for
from tests.e2e.conftest import Functions
from tests.e2e.openapi_check import check_response


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def user(emulator: EmulatorClient) -> tuple[str, dict[str, str]]:
    """A new app user: their subject and the Authorization header of their token."""
    subject = f"e2e-{uuid.uuid4().hex[:10]}"
    return subject, _bearer(emulator.mint(subject))


@pytest.fixture
def admin(emulator: EmulatorClient) -> dict[str, str]:
    return _bearer(emulator.mint("e2e-offboarding", roles=["Identity.Admin"]))


def test_e2e_sign_out_everywhere_then_delete_my_account(
    functions: Functions, emulator: EmulatorClient, openapi: dict[str, Any],
    user: tuple[str, dict[str, str]],
) -> None:
    _, headers = user
    api = f"{functions.url}/api"
    none_yet = requests.get(f"{api}/identities/me", headers=headers, timeout=30)
    first = requests.post(f"{api}/token", headers=headers, timeout=30)
    mine = requests.get(f"{api}/identities/me", headers=headers, timeout=30)
    revoked = requests.post(f"{api}/identities/me/revoke", headers=headers, timeout=30)
    second = requests.post(f"{api}/token", headers=headers, timeout=30)
    deleted = requests.delete(f"{api}/identities/me", headers=headers, timeout=30)
    again = requests.delete(f"{api}/identities/me", headers=headers, timeout=30)
    gone = requests.get(f"{api}/identities/me", headers=headers, timeout=30)
    fresh = requests.post(f"{api}/token", headers=headers, timeout=30)

    assert [r.status_code for r in (none_yet, first, mine, revoked, second, deleted, again,
                                    gone, fresh)] == [404, 200, 200, 204, 200, 204, 204, 404,
                                                      200], functions.log_tail()
    identity = first.json()["communicationUserId"]
    assert mine.json() == {"communicationUserId": identity}
    assert second.json()["communicationUserId"] == identity
    assert fresh.json()["communicationUserId"] != identity
    assert emulator.verify_token(first.json()["token"]) == {"valid": False,
                                                            "reason": "identity deleted"}
    assert emulator.verify_token(fresh.json()["token"]) == {"valid": True}
    for response in (none_yet, first, mine, revoked, second, deleted, again, gone, fresh):
        check_response(openapi, response)


@pytest.mark.parametrize("encode_colons", [True, False], ids=["encoded", "raw"])
def test_e2e_admin_lookup_revoke_delete_by_url_encoded_keys(
    encode_colons: bool, functions: Functions, emulator: EmulatorClient,
    openapi: dict[str, Any], user: tuple[str, dict[str, str]], admin: dict[str, str],
) -> None:
    subject, headers = user
    api = f"{functions.url}/api"
    token = requests.post(f"{api}/token", headers=headers, timeout=30).json()
    identity = token["communicationUserId"]
    safe = "" if encode_colons else ":"
    key = quote(f"sub:{subject}", safe=safe)

    lookup = requests.get(f"{api}/identities/{quote(identity, safe=safe)}", headers=admin,
                          timeout=30)
    found = requests.get(f"{api}/users/{key}/identity", headers=admin, timeout=30)
    revoked = requests.post(f"{api}/users/{key}/identity/revoke", headers=admin, timeout=30)
    deleted = requests.delete(f"{api}/users/{key}/identity", headers=admin, timeout=30)
    missing = requests.get(f"{api}/users/{key}/identity", headers=admin, timeout=30)

    assert [r.status_code for r in (lookup, found, revoked, deleted, missing)] == [
        200, 200, 204, 204, 404], functions.log_tail()
    assert lookup.json() == {"userKey": f"sub:{subject}",
                             "issuer": functions.settings["AUTH_ISSUER"]}
    assert found.json() == {"communicationUserId": identity}
    assert emulator.verify_token(token["token"])["valid"] is False
    assert {i["id"]: i["state"] for i in emulator.identities()}[identity] == "deleted"
    for response in (lookup, found, revoked, deleted, missing):
        check_response(openapi, response)


def test_e2e_admin_routes_need_the_role_403_and_token_401(
    functions: Functions, openapi: dict[str, Any], user: tuple[str, dict[str, str]],
) -> None:
    subject, headers = user
    api = f"{functions.url}/api"
    identity = requests.post(f"{api}/identities", headers=headers,
                             timeout=30).json()["communicationUserId"]
    calls = [("GET", f"{api}/identities/{identity}"),
             ("GET", f"{api}/users/sub%3A{subject}/identity"),
             ("DELETE", f"{api}/users/sub%3A{subject}/identity"),
             ("POST", f"{api}/users/sub%3A{subject}/identity/revoke")]

    for method, url in calls:
        forbidden = requests.request(method, url, headers=headers, timeout=30)
        anonymous = requests.request(method, url, timeout=30)
        assert (forbidden.status_code, anonymous.status_code) == (403, 401), (method, url)
        check_response(openapi, forbidden)
        check_response(openapi, anonymous)
    mine = requests.get(f"{api}/identities/me", headers=headers, timeout=30)
    assert mine.json() == {"communicationUserId": identity}


@pytest.mark.parametrize(
    "path", ["/api/users/alice/identity", "/api/users/sub%3Aa%2Fb/identity",
             "/api/identities/8%3Aspool%3Aabc", "/api/identities/not-an-identity"],
)
def test_e2e_admin_bad_keys_400_problem(
    path: str, functions: Functions, openapi: dict[str, Any], admin: dict[str, str]
) -> None:
    response = requests.get(f"{functions.url}{path}", headers=admin, timeout=30)

    if "%2F" in path:
        # The host hands `sub:a%2Fb` on (ASP.NET keeps %2F encoded): a key that exists nowhere.
        assert response.status_code == 404
    else:
        assert response.status_code == 400
    check_response(openapi, response)


def test_e2e_my_identity_with_body_400(
    functions: Functions, openapi: dict[str, Any], user: tuple[str, dict[str, str]]
) -> None:
    _, headers = user
    response = requests.delete(f"{functions.url}/api/identities/me", headers=headers,
                               json={"everything": True}, timeout=30)
    assert response.status_code == 400
    check_response(openapi, response)


@pytest.fixture
def event_queues(azurite: dict[str, str]) -> Iterator[dict[str, QueueClient]]:
    connection = azurite["AZURITE_CONNECTION_STRING"]
    queues = {name: QueueClient.from_connection_string(connection, name)
              for name in ("identity-events", "identity-events-deadletter",
                           "identity-events-poison")}
    for client in queues.values():
        try:
            client.create_queue()
        except ResourceExistsError:
            client.clear_messages()
    yield queues
    for client in queues.values():
        client.clear_messages()


def _put(client: QueueClient, body: bytes) -> None:
    client.send_message(base64.b64encode(body).decode())


def test_e2e_identity_event_delete_offboards_user(
    functions: Functions, emulator: EmulatorClient, user: tuple[str, dict[str, str]],
    event_queues: dict[str, QueueClient],
) -> None:
    subject, headers = user
    api = f"{functions.url}/api"
    token = requests.post(f"{api}/token", headers=headers, timeout=30).json()

    _put(event_queues["identity-events"],
         json.dumps({"action": "delete", "userKey": f"sub:{subject}"}).encode())

    wait_for(lambda: requests.get(f"{api}/identities/me", headers=headers,
                                  timeout=30).status_code == 404 or None,
             timeout=30, what=f"the delete\n{functions.log_tail()}")
    assert emulator.verify_token(token["token"])["reason"] == "identity deleted"
    assert not list(event_queues["identity-events-deadletter"].peek_messages())


def test_e2e_identity_event_invalid_dead_lettered(
    functions: Functions, event_queues: dict[str, QueueClient]
) -> None:
    _put(event_queues["identity-events"], b'{"action": "purge", "userKey": "sub:x"}')

    dead = wait_for(
        lambda: [m.content for m in event_queues["identity-events-deadletter"].peek_messages()],
        timeout=30, what=f"the dead letter\n{functions.log_tail()}",
    )
    letter = json.loads(base64.b64decode(dead[0]))
    assert [e["pointer"] for e in letter["errors"]] == ["/action"]
    assert not list(event_queues["identity-events-poison"].peek_messages())
