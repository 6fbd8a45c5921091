"""Lifecycle operations when ACS or Table Storage fail: a clean 503, and a retry finishes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import azure.functions as func
import pytest

import MyIdentity
import RevokeMyTokens
from devhost.direct import http_request
from emulator.client import EmulatorClient
from shared.errors import UpstreamUnavailable
from shared.identity.map import TableIdentityMap
from shared.services import use_services
from tests.token.issue import issue_token
from tests.token.test_faults import _assert_clean_503, _closed_port
from tests.token.test_lifecycle_admin import call

Rows = Callable[[], list[dict[str, object]]]
# Operation name on the emulator, and how the caller asks for it.
OPERATIONS = {
    "revoke": ("identity.revokeTokens", RevokeMyTokens.main, "POST", "identities/me/revoke"),
    "delete": ("identity.delete", MyIdentity.main, "DELETE", "identities/me"),
}


@pytest.fixture
def short_retry_budget(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACS_RETRY_SECONDS", "2")
    use_services(None)


def _run(operation: str, user_token: str) -> func.HttpResponse:
    _, main, method, route = OPERATIONS[operation]
    return main(http_request(method, route, token=user_token))


def _fault_after_issue(emulator: EmulatorClient, operation: str, user_token: str, status: int,
                       **fault: int) -> tuple[str, dict[str, str]]:
    """Give the user an identity and a token, then have ACS answer the operation with `status`.

    Returns the operation's name on the emulator and the token issued before the fault.
    """
    issued = issue_token(user_token)
    name = OPERATIONS[operation][0]
    emulator.fault(name, status, **fault)
    return name, issued


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_lifecycle_acs_throttling_past_budget_503_retry_after_passed_on(
    operation: str, app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    # ACS allows 500 revoke or delete requests per 30 s; past that it answers 429.
    name, _ = _fault_after_issue(emulator, operation, user_token, 429, count=50, retryAfter=30)

    started = time.monotonic()
    response = _run(operation, user_token)

    assert time.monotonic() - started < 5
    _assert_clean_503(response)
    assert response.headers["Retry-After"] == "30"
    assert emulator.counters()[name] == 1


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_lifecycle_acs_throttled_once_retried_within_budget_204(
    operation: str, app_env: dict[str, str], emulator: EmulatorClient, user_token: str
) -> None:
    name, _ = _fault_after_issue(emulator, operation, user_token, 429, count=1, retryAfter=1)

    response = _run(operation, user_token)

    assert response.status_code == 204
    assert emulator.counters()[name] == 2


@pytest.mark.usefixtures("short_retry_budget")
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_lifecycle_acs_down_503_then_retry_completes(
    operation: str, emulator: EmulatorClient, user_token: str, mapped_rows: Rows
) -> None:
    _, old = _fault_after_issue(emulator, operation, user_token, 503, count=100)

    response = _run(operation, user_token)

    _assert_clean_503(response)
    assert emulator.verify_token(old["token"]) == {"valid": True}
    assert len(mapped_rows()) == 1  # nothing half-done: the mapping is still there
    emulator.clear_faults()
    assert _run(operation, user_token).status_code == 204
    assert emulator.verify_token(old["token"])["valid"] is False


def _table_down(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    connection = app_env["IDENTITY_TABLE_ENDPOINT"]
    endpoint = connection.split("TableEndpoint=")[1].split(";")[0]
    monkeypatch.setenv("IDENTITY_TABLE_ENDPOINT", connection.replace(
        endpoint, f"http://127.0.0.1:{_closed_port()}/devstoreaccount1"))
    use_services(None)


@pytest.mark.parametrize(
    "case", ["get_me", "revoke_me", "delete_me", "get_user", "revoke_user", "delete_user",
             "lookup"],
)
def test_lifecycle_table_storage_down_503_no_acs_call(
    case: str, app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    admin_token: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    identity = issue_token(user_token)["communicationUserId"]
    _table_down(app_env, monkeypatch)
    calls = emulator.counters()

    routes: dict[str, Callable[[], func.HttpResponse]] = {
        "get_me": lambda: MyIdentity.main(http_request("GET", "identities/me",
                                                       token=user_token)),
        "revoke_me": lambda: _run("revoke", user_token),
        "delete_me": lambda: _run("delete", user_token),
        "get_user": lambda: call("get_user_identity", "sub:user-1", admin_token),
        "revoke_user": lambda: call("revoke_user_tokens", "sub:user-1", admin_token),
        "delete_user": lambda: call("delete_user_identity", "sub:user-1", admin_token),
        "lookup": lambda: call("lookup_identity", identity, admin_token),
    }
    response = routes[case]()

    _assert_clean_503(response)
    after = emulator.counters()
    assert {k: v for k, v in after.items() if k.startswith("identity.")} == {
        k: v for k, v in calls.items() if k.startswith("identity.")}


def test_delete_crash_after_acs_delete_token_heals_and_retry_finishes(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    mapped_rows: Rows, reverse_rows: Rows, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Azurite cannot fail at this exact instant (after ACS deleted the identity, while the
    # map is cleaned up), so that step is made to fail here: the only mock in this file.
    old = issue_token(user_token)["communicationUserId"]

    def failing(self: TableIdentityMap, *args: Any) -> None:
        raise UpstreamUnavailable("Storage is unavailable.", retry_after=5)

    with monkeypatch.context() as patch:
        patch.setattr(TableIdentityMap, "remove", failing)
        response = _run("delete", user_token)
    _assert_clean_503(response)

    # The identity is gone, never orphaned; the mapping left behind dangles for one request:
    assert [(i["id"], i["state"]) for i in emulator.identities()] == [(old, "deleted")]
    healed = issue_token(user_token)
    assert healed["communicationUserId"] != old
    assert emulator.verify_token(healed["token"]) == {"valid": True}
    assert [r["CommunicationUserId"] for r in mapped_rows()] == [healed["communicationUserId"]]
    assert len(reverse_rows()) == 1  # the healed mapping's; the old one's was removed

    # And a retried delete finishes the job for the identity mapped now.
    assert _run("delete", user_token).status_code == 204
    assert mapped_rows() == [] and reverse_rows() == []
    assert {i["state"] for i in emulator.identities()} == {"deleted"}


def test_delete_crash_after_acs_delete_retried_delete_completes(
    app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    mapped_rows: Rows, reverse_rows: Rows, monkeypatch: pytest.MonkeyPatch,
) -> None:
    issue_token(user_token)

    def failing(self: TableIdentityMap, *args: Any) -> None:
        raise UpstreamUnavailable("Storage is unavailable.", retry_after=5)

    with monkeypatch.context() as patch:
        patch.setattr(TableIdentityMap, "remove", failing)
        assert _run("delete", user_token).status_code == 503

    assert _run("delete", user_token).status_code == 204
    assert mapped_rows() == [] and reverse_rows() == []
    assert {i["state"] for i in emulator.identities()} == {"deleted"}
