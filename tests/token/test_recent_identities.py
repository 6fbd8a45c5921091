"""A returning user's token without an identity map read, and every way the kept identity can go
stale: deleted or remapped on another instance, deleted behind the service's back, the mapping
removed by hand. Against the emulator and Azurite; each "instance" is a Services of its own, as
two worker processes would have, sharing the same ACS resource and table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableServiceClient

import IdentityEvents
import IssueToken
import MyIdentity
import UserIdentity
from devhost.direct import http_request, json_body
from emulator.client import EmulatorClient
from shared.config.settings import Settings
from shared.identity.recent import RecentIdentities
from shared.identity.tokens import TokenService
from shared.services import Services, use_services
from tests.sms.support import Output, queue_message
from tests.token.issue import issue_token

Rows = Callable[[], list[dict[str, object]]]


class TableReads(RequestsTransport):  # type: ignore[misc]  # untyped base
    """A real transport that counts the GET requests sent to the table endpoint."""

    def __init__(self, table_host: str) -> None:
        super().__init__()
        self.table_host = table_host
        self.reads = 0

    def send(self, request: Any, **kwargs: Any) -> Any:
        if request.method == "GET" and urlsplit(request.url).netloc == self.table_host:
            self.reads += 1
        return super().send(request, **kwargs)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _instance(azurite: dict[str, str]) -> tuple[Services, TableReads]:
    """A worker process of its own: its own services, kept identities and connections."""
    host = urlsplit(azurite["AZURITE_TABLE_ENDPOINT"]).netloc
    transport = TableReads(host)
    return Services(Settings.from_env(), transport=transport), transport


@pytest.fixture
def two_instances(app_env: dict[str, str], azurite: dict[str, str]) -> tuple[Services, Services]:
    """Two worker processes' services on the same ACS resource and table."""
    return _instance(azurite)[0], _instance(azurite)[0]


def _token_on(instance: Services, user_token: str) -> dict[str, str]:
    use_services(instance)
    return issue_token(user_token)


def _active(emulator: EmulatorClient) -> list[str]:
    return [i["id"] for i in emulator.identities() if i["state"] == "active"]


def _mapped(rows: Rows) -> list[object]:
    return [row["CommunicationUserId"] for row in rows()]


def test_returning_user_token_reads_no_map_while_the_instance_keeps_it(
    app_env: dict[str, str], azurite: dict[str, str], emulator: EmulatorClient,
    user_token: str,
) -> None:
    instance, table = _instance(azurite)
    first = _token_on(instance, user_token)
    reads = table.reads

    later = [_token_on(instance, user_token) for _ in range(3)]

    assert table.reads == reads
    assert {body["communicationUserId"] for body in later} == {first["communicationUserId"]}
    assert emulator.counters()["identity.issueToken"] == 3
    assert all(emulator.verify_token(body["token"])["valid"] for body in later)


def test_cache_off_reads_the_map_on_every_token_request(
    app_env: dict[str, str], azurite: dict[str, str], user_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDENTITY_CACHE_SECONDS", "0")
    instance, table = _instance(azurite)
    _token_on(instance, user_token)
    reads = table.reads

    for _ in range(3):
        _token_on(instance, user_token)

    assert table.reads == reads + 3


def test_identity_deleted_on_another_instance_new_identity_no_orphan(
    two_instances: tuple[Services, Services], emulator: EmulatorClient, user_token: str,
    mapped_rows: Rows,
) -> None:
    a, b = two_instances
    kept = _token_on(b, user_token)["communicationUserId"]
    use_services(a)
    assert MyIdentity.main(http_request("DELETE", "identities/me", token=user_token)
                           ).status_code == 204

    fresh = _token_on(b, user_token)

    assert fresh["communicationUserId"] != kept
    assert _active(emulator) == [fresh["communicationUserId"]]
    assert _mapped(mapped_rows) == [fresh["communicationUserId"]]
    assert emulator.verify_token(fresh["token"])["valid"] is True


def test_identity_remapped_on_another_instance_that_one_is_used(
    two_instances: tuple[Services, Services], emulator: EmulatorClient, user_token: str,
    mapped_rows: Rows,
) -> None:
    a, b = two_instances
    kept = _token_on(b, user_token)["communicationUserId"]
    emulator.delete_identity(kept)  # behind the service's back
    healed = _token_on(a, user_token)["communicationUserId"]  # A maps a new identity
    created = emulator.counters()["identity.create"]

    answer = _token_on(b, user_token)

    # B's kept identity is refused as gone; B reads the map and uses A's identity.
    assert answer["communicationUserId"] == healed != kept
    assert emulator.counters()["identity.create"] == created
    assert _active(emulator) == [healed]
    assert _mapped(mapped_rows) == [healed]


def test_kept_identity_deleted_behind_the_back_healed_with_one_refused_call(
    app_env: dict[str, str], azurite: dict[str, str], emulator: EmulatorClient,
    user_token: str, mapped_rows: Rows,
) -> None:
    instance, _ = _instance(azurite)
    kept = _token_on(instance, user_token)["communicationUserId"]
    emulator.delete_identity(kept)
    before = emulator.counters()

    answer = _token_on(instance, user_token)

    after = emulator.counters()
    # The map still names the refused identity: it is replaced at once, not asked for again.
    assert after["identity.issueToken"] - before["identity.issueToken"] == 2
    assert after["identity.create"] - before["identity.create"] == 1
    assert answer["communicationUserId"] != kept
    assert _mapped(mapped_rows) == [answer["communicationUserId"]] == _active(emulator)


def _delete_me(user_token: str, admin_token: str) -> None:
    assert MyIdentity.main(http_request("DELETE", "identities/me", token=user_token)
                           ).status_code == 204


def _delete_by_admin(user_token: str, admin_token: str) -> None:
    assert UserIdentity.main(http_request(
        "DELETE", "x", token=admin_token, route_params={"userKey": "sub:user-1"})
    ).status_code == 204


def _delete_by_event(user_token: str, admin_token: str) -> None:
    out = Output()
    IdentityEvents.main(queue_message({"action": "delete", "userKey": "sub:user-1"}), out)
    assert out.value is None


@pytest.mark.parametrize("delete", [_delete_me, _delete_by_admin, _delete_by_event],
                         ids=["me", "admin", "event"])
def test_delete_on_the_same_instance_forgets_the_kept_identity(
    delete: Callable[[str, str], None], app_env: dict[str, str], azurite: dict[str, str],
    emulator: EmulatorClient, user_token: str, admin_token: str,
) -> None:
    instance, _ = _instance(azurite)
    kept = _token_on(instance, user_token)["communicationUserId"]
    delete(user_token, admin_token)
    before = emulator.counters()

    answer = _token_on(instance, user_token)

    after = emulator.counters()
    # First use again: one create with its token, no call for the deleted identity.
    assert after["identity.issueToken"] == before["identity.issueToken"]
    assert after["identity.create"] - before["identity.create"] == 1
    assert answer["communicationUserId"] != kept


def test_kept_identity_refused_and_no_new_one_mapped_nothing_kept(
    app_env: dict[str, str], azurite: dict[str, str], emulator: EmulatorClient,
    user_token: str,
) -> None:
    instance, _ = _instance(azurite)
    kept = _token_on(instance, user_token)["communicationUserId"]
    emulator.delete_identity(kept)
    emulator.fault("identity.create", 400)  # the new identity cannot be made this time

    response = IssueToken.main(http_request("POST", "token", token=user_token))

    assert response.status_code == 502
    assert len(instance.recent_identities) == 0
    assert _token_on(instance, user_token)["communicationUserId"] != kept


def test_mapping_removed_by_hand_served_until_the_entry_ends(
    app_env: dict[str, str], azurite: dict[str, str], emulator: EmulatorClient,
    user_token: str, mapped_rows: Rows,
) -> None:
    # The one change ACS cannot reveal: the identity lives on, the mapping is gone (here the
    # whole table). The kept identity is served for at most IDENTITY_CACHE_SECONDS.
    instance, _ = _instance(azurite)
    clock = Clock()
    seconds = instance.settings.identity_cache_seconds
    instance.recent_identities = RecentIdentities(seconds, clock=clock)
    instance.tokens = TokenService(instance.acs, instance.identities, instance.recent_identities)
    kept = _token_on(instance, user_token)["communicationUserId"]
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])
    service.delete_table(app_env["IDENTITY_TABLE_NAME"])

    clock.now += seconds - 0.1
    assert _token_on(instance, user_token)["communicationUserId"] == kept
    clock.now += 0.1
    response = IssueToken.main(http_request("POST", "token", token=user_token))

    assert response.status_code == 200
    fresh = json_body(response)["communicationUserId"]
    assert fresh != kept
    assert _mapped(mapped_rows) == [fresh]
