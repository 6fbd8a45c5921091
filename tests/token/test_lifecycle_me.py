"""The caller's own identity lifecycle: look it up, sign out everywhere, delete it."""

from __future__ import annotations

from collections.abc import Callable

import azure.functions as func

import CreateIdentity
import MyIdentity
import RevokeMyTokens
from devhost.direct import http_request, json_body
from devhost.worker import local_worker_python
from emulator.client import EmulatorClient
from shared.identity.map import identity_row
from tests.token.issue import issue_token

Rows = Callable[[], list[dict[str, object]]]


def _me(method: str, user_token: str) -> func.HttpResponse:
    return MyIdentity.main(http_request(method, "identities/me", token=user_token))


def _acs_calls(emulator: EmulatorClient) -> int:
    counters = emulator.counters()
    return sum(n for op, n in counters.items() if op.startswith("identity."))


def test_my_identity_none_yet_404_problem(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    response = _me("GET", user_token)

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert _acs_calls(emulator) == 0


def test_my_identity_mapped_200_from_map_without_acs_call(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    created = CreateIdentity.main(http_request("POST", "identities", token=user_token))
    calls = _acs_calls(emulator)

    response = _me("GET", user_token)

    assert response.status_code == 200
    assert json_body(response) == json_body(created)
    assert _acs_calls(emulator) == calls


def test_revoke_my_tokens_old_refused_new_works_same_identity(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    before = issue_token(user_token)
    assert emulator.verify_token(before["token"]) == {"valid": True}

    response = RevokeMyTokens.main(
        http_request("POST", "identities/me/revoke", token=user_token)
    )

    assert response.status_code == 204
    assert response.get_body() == b""
    assert emulator.verify_token(before["token"]) == {"valid": False, "reason": "revoked"}
    after = issue_token(user_token)
    assert emulator.verify_token(after["token"]) == {"valid": True}
    assert after["communicationUserId"] == before["communicationUserId"]
    assert emulator.counters()["identity.revokeTokens"] == 1


def test_revoke_my_tokens_without_identity_204_no_acs_call(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str, mapped_rows: Rows
) -> None:
    response = RevokeMyTokens.main(
        http_request("POST", "identities/me/revoke", token=user_token)
    )

    assert response.status_code == 204
    assert _acs_calls(emulator) == 0
    assert mapped_rows() == []


def test_revoke_my_tokens_identity_deleted_by_operator_204(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    identity = issue_token(user_token)["communicationUserId"]
    emulator.delete_identity(identity)

    response = RevokeMyTokens.main(
        http_request("POST", "identities/me/revoke", token=user_token)
    )

    assert response.status_code == 204


def test_delete_my_identity_old_token_refused_identity_and_rows_gone(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    mapped_rows: Rows, reverse_rows: Rows,
) -> None:
    before = issue_token(user_token)
    identity = before["communicationUserId"]
    assert [r["RowKey"] for r in reverse_rows()] == [identity_row(identity)]

    response = _me("DELETE", user_token)

    assert response.status_code == 204
    assert response.get_body() == b""
    # No media type of its own; the Python worker gives every such response text/plain.
    assert response.headers.get("Content-Type") == (
        "text/plain; charset=utf-8" if local_worker_python() else None)
    assert emulator.verify_token(before["token"]) == {
        "valid": False, "reason": "identity deleted"}
    assert [(i["id"], i["state"]) for i in emulator.identities()] == [(identity, "deleted")]
    assert mapped_rows() == [] and reverse_rows() == []
    assert _me("GET", user_token).status_code == 404


def test_delete_my_identity_later_token_creates_new_identity(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    mapped_rows: Rows, reverse_rows: Rows,
) -> None:
    old = issue_token(user_token)["communicationUserId"]
    assert _me("DELETE", user_token).status_code == 204

    new = issue_token(user_token)

    assert new["communicationUserId"] != old
    assert emulator.verify_token(new["token"]) == {"valid": True}
    assert [r["CommunicationUserId"] for r in mapped_rows()] == [new["communicationUserId"]]
    assert [r["RowKey"] for r in reverse_rows()] == [
        identity_row(new["communicationUserId"])]


def test_delete_my_identity_twice_idempotent_second_without_acs_call(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    issue_token(user_token)
    assert _me("DELETE", user_token).status_code == 204
    calls = _acs_calls(emulator)

    assert _me("DELETE", user_token).status_code == 204
    assert _acs_calls(emulator) == calls


def test_delete_my_identity_deleted_by_operator_mapping_removed(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    mapped_rows: Rows, reverse_rows: Rows,
) -> None:
    emulator.delete_identity(issue_token(user_token)["communicationUserId"])

    assert _me("DELETE", user_token).status_code == 204
    assert mapped_rows() == [] and reverse_rows() == []


def test_my_identity_other_users_untouched_by_delete(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    other = emulator.mint("user-2")
    kept = issue_token(other)

    issue_token(user_token)
    assert _me("DELETE", user_token).status_code == 204

    assert emulator.verify_token(kept["token"]) == {"valid": True}
    assert json_body(_me("GET", other)) == {"communicationUserId": kept["communicationUserId"]}
