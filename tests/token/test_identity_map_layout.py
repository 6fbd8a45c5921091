"""The reverse records of the identity map: written first, checked on lookup, stale ones removed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from azure.data.tables import TableServiceClient, UpdateMode

import IdentityLookup
import IssueToken
from devhost.direct import http_request, json_body
from shared.auth.caller import Caller
from shared.clients.tables import LazyTable, build_service_client
from shared.identity.map import (
    INDEXED,
    REVERSE_ROW_KEY,
    TableIdentityMap,
    partition_key,
    reverse_key,
)
from shared.services import get_services

Rows = Callable[[], list[dict[str, object]]]
ORPHAN = "8:acs:00000000-0000-0000-0000-000000000000_left-by-a-crash"


def _leave_reverse_record(azurite: dict[str, str], table: str, forward_key: str) -> None:
    """What a create that crashed between its two writes leaves behind."""
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])
    service.get_table_client(table).upsert_entity({
        "PartitionKey": reverse_key(ORPHAN), "RowKey": REVERSE_ROW_KEY,
        "ForwardKey": forward_key,
    })


def _seed(user_token: str) -> str:
    response = IssueToken.main(http_request("POST", "token", token=user_token))
    identity: str = json_body(response)["communicationUserId"]
    return identity


def test_identity_lookup_stale_reverse_record_404_not_trusted(
    app_env: dict[str, str], azurite: dict[str, str], user_token: str, admin_token: str,
    reverse_rows: Rows,
) -> None:
    mapped = _seed(user_token)
    caller = get_services().authenticator.authenticate(f"Bearer {user_token}")
    _leave_reverse_record(azurite, app_env["IDENTITY_TABLE_NAME"], partition_key(caller))

    stale = IdentityLookup.main(http_request(
        "GET", "admin", token=admin_token, route_params={"communicationUserId": ORPHAN}))
    live = IdentityLookup.main(http_request(
        "GET", "admin", token=admin_token, route_params={"communicationUserId": mapped}))

    assert stale.status_code == 404
    assert json_body(live)["userKey"] == "sub:user-1"
    # Fresh: it may be a create still in flight, so it is kept for now.
    assert len(reverse_rows()) == 2


def test_identity_map_owner_stale_reverse_record_removed_once_old(
    app_env: dict[str, str], azurite: dict[str, str], user_token: str, reverse_rows: Rows
) -> None:
    mapped = _seed(user_token)
    services = get_services()
    caller = services.authenticator.authenticate(f"Bearer {user_token}")
    _leave_reverse_record(azurite, app_env["IDENTITY_TABLE_NAME"], partition_key(caller))
    # The same table, with "old" meaning any age, so the test need not wait minutes.
    tables = build_service_client(services.settings.table_endpoint, services.credential)
    identities = TableIdentityMap(LazyTable(tables, app_env["IDENTITY_TABLE_NAME"]),
                                  stale_after=dt.timedelta(0))

    assert identities.owner(ORPHAN) is None
    assert [r["PartitionKey"] for r in reverse_rows()] == [reverse_key(mapped)]
    assert identities.owner(mapped) == Caller(caller.issuer, caller.subject, frozenset())


def test_issue_token_mapping_without_reverse_record_backfilled_once(
    app_env: dict[str, str], azurite: dict[str, str], user_token: str, admin_token: str,
    mapped_rows: Rows, reverse_rows: Rows,
) -> None:
    identity = _seed(user_token)
    # Make the mapping look as one written before reverse records existed.
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])
    table = service.get_table_client(app_env["IDENTITY_TABLE_NAME"])
    (row,) = mapped_rows()
    table.upsert_entity({k: v for k, v in row.items() if k != INDEXED}, mode=UpdateMode.REPLACE)
    table.delete_entity(reverse_key(identity), REVERSE_ROW_KEY)

    def lookup() -> int:
        return int(IdentityLookup.main(http_request(
            "GET", "admin", token=admin_token,
            route_params={"communicationUserId": identity})).status_code)

    assert lookup() == 404
    assert _seed(user_token) == identity

    assert lookup() == 200
    assert [r["PartitionKey"] for r in reverse_rows()] == [reverse_key(identity)]
    assert [r[INDEXED] for r in mapped_rows()] == [True]
