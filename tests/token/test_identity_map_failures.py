"""The identity map when Table Storage fails or loses the table: no orphans, self-healing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

import IssueToken
from devhost.direct import http_request, json_body
from emulator.client import EmulatorClient
from shared.errors import UpstreamUnavailable
from shared.identity.map import TableIdentityMap


def test_issue_token_identity_table_deleted_recreated_and_served(
    app_env: dict[str, str], azurite: dict[str, str], emulator: EmulatorClient,
    user_token: str, mapped_rows: Callable[[], list[dict[str, object]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The map's own recovery: with identities kept per instance, the next request would be
    # served without reading the map (tests/token/test_recent_identities.py covers that).
    monkeypatch.setenv("IDENTITY_CACHE_SECONDS", "0")
    assert IssueToken.main(http_request("POST", "token", token=user_token)).status_code == 200
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])
    service.delete_table(app_env["IDENTITY_TABLE_NAME"])

    response = IssueToken.main(http_request("POST", "token", token=user_token))

    assert response.status_code == 200
    assert [row["CommunicationUserId"] for row in mapped_rows()] == [
        json_body(response)["communicationUserId"]
    ]


@pytest.mark.parametrize("landed", [False, True], ids=["write_lost", "write_landed"])
def test_issue_token_map_write_fails_no_orphan_identity(
    landed: bool, app_env: dict[str, str], emulator: EmulatorClient, user_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Azurite cannot fail at this exact instant (after ACS created the identity, while the
    # map is written), so the write is made to fail here: the only mock in this file.
    real_add = TableIdentityMap.add

    def failing_add(self: TableIdentityMap, caller: Any, identity_id: str) -> str:
        if landed:
            real_add(self, caller, identity_id)
        raise UpstreamUnavailable("Storage is unavailable.", retry_after=5)

    monkeypatch.setattr(TableIdentityMap, "add", failing_add)

    response = IssueToken.main(http_request("POST", "token", token=user_token))

    assert response.status_code == 503
    states = [i["state"] for i in emulator.identities()]
    assert len(states) == 1
    # Not mapped: deleted at once. Mapped after all: kept, so the map never dangles.
    assert states == (["active"] if landed else ["deleted"])
