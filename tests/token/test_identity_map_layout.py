"""The identity map's layout in Table Storage: a mapping and its reverse record, one partition,
written, swapped and removed together in one transaction (against Azurite)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from azure.data.tables import TableClient, TableServiceClient

import IdentityLookup
import IssueToken
from devhost.direct import http_request, json_body
from shared.auth.caller import Caller
from shared.clients.tables import LazyTable, build_service_client
from shared.errors import UpstreamUnavailable
from shared.identity.map import PARTITION, TableIdentityMap, identity_row, user_row
from shared.services import get_services

Rows = Callable[[], list[dict[str, object]]]
OTHER = "8:acs:00000000-0000-0000-0000-000000000000_another-identity"


def _seed(user_token: str) -> tuple[str, Caller]:
    response = IssueToken.main(http_request("POST", "token", token=user_token))
    identity: str = json_body(response)["communicationUserId"]
    return identity, get_services().authenticator.authenticate(f"Bearer {user_token}")


def _map(app_env: dict[str, str]) -> TableIdentityMap:
    services = get_services()
    tables = build_service_client(services.settings.table_endpoint, services.credential)
    return TableIdentityMap(LazyTable(tables, app_env["IDENTITY_TABLE_NAME"]))


def _table(azurite: dict[str, str], app_env: dict[str, str]) -> TableClient:
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])
    return service.get_table_client(app_env["IDENTITY_TABLE_NAME"])


def test_issue_token_first_use_mapping_and_reverse_record_one_partition(
    user_token: str, admin_token: str, mapped_rows: Rows, reverse_rows: Rows,
) -> None:
    identity, caller = _seed(user_token)

    (mapping,) = mapped_rows()
    (reverse,) = reverse_rows()
    assert (mapping["PartitionKey"], mapping["RowKey"]) == (PARTITION, user_row(caller))
    assert mapping["CommunicationUserId"] == identity
    assert (reverse["PartitionKey"], reverse["RowKey"]) == (PARTITION, identity_row(identity))
    assert (reverse["Issuer"], reverse["Subject"]) == (caller.issuer, caller.subject)
    lookup = IdentityLookup.main(http_request(
        "GET", "admin", token=admin_token, route_params={"communicationUserId": identity}))
    assert json_body(lookup) == {"userKey": "sub:user-1", "issuer": caller.issuer}


def test_identity_map_add_refused_transaction_writes_neither_row(
    app_env: dict[str, str], azurite: dict[str, str], mapped_rows: Rows,
) -> None:
    """A reverse record already there for the identity fails the transaction's second write:
    the mapping, its first write, is not kept either."""
    identities = _map(app_env)
    caller = Caller("https://issuer.test", "someone", frozenset())
    identities.get(caller)  # creates the table
    _table(azurite, app_env).create_entity(
        {"PartitionKey": PARTITION, "RowKey": identity_row(OTHER), "Issuer": "x", "Subject": "y"})

    with pytest.raises(UpstreamUnavailable):
        identities.add(caller, OTHER)

    assert mapped_rows() == []
    assert identities.get(caller) is None


def test_identity_map_replace_swaps_mapping_and_reverse_records_together(
    app_env: dict[str, str], user_token: str, mapped_rows: Rows, reverse_rows: Rows,
) -> None:
    old, caller = _seed(user_token)
    identities = _map(app_env)

    assert identities.replace(caller, old, OTHER) == OTHER

    assert [r["CommunicationUserId"] for r in mapped_rows()] == [OTHER]
    assert [r["RowKey"] for r in reverse_rows()] == [identity_row(OTHER)]
    assert identities.owner(old) is None
    assert identities.owner(OTHER) == Caller(caller.issuer, caller.subject, frozenset())


def test_identity_map_replace_reverse_record_removed_by_hand_still_swaps(
    app_env: dict[str, str], azurite: dict[str, str], user_token: str, mapped_rows: Rows,
    reverse_rows: Rows,
) -> None:
    old, caller = _seed(user_token)
    _table(azurite, app_env).delete_entity(PARTITION, identity_row(old))

    assert _map(app_env).replace(caller, old, OTHER) == OTHER

    assert [r["CommunicationUserId"] for r in mapped_rows()] == [OTHER]
    assert [r["RowKey"] for r in reverse_rows()] == [identity_row(OTHER)]


def test_identity_map_remove_reverse_record_removed_by_hand_still_removes(
    app_env: dict[str, str], azurite: dict[str, str], user_token: str, mapped_rows: Rows,
) -> None:
    old, caller = _seed(user_token)
    identities = _map(app_env)
    entry = identities.entry(caller)
    assert entry is not None
    _table(azurite, app_env).delete_entity(PARTITION, identity_row(old))

    assert identities.remove(caller, entry) is True

    assert mapped_rows() == []


def test_identity_map_remove_remapped_meanwhile_keeps_new_mapping(
    app_env: dict[str, str], user_token: str, mapped_rows: Rows, reverse_rows: Rows,
) -> None:
    old, caller = _seed(user_token)
    identities = _map(app_env)
    entry = identities.entry(caller)
    assert entry is not None
    identities.replace(caller, old, OTHER)  # a token request healed the mapping meanwhile

    assert identities.remove(caller, entry) is False

    assert [r["CommunicationUserId"] for r in mapped_rows()] == [OTHER]
    assert [r["RowKey"] for r in reverse_rows()] == [identity_row(OTHER)]
