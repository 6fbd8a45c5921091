"""The fuzz tier's checks can fail: a Table write or an ACS call behind a 4xx is reported, as is
an answer openapi.yaml does not list; the table reads see every row."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from emulator.client import EmulatorClient
from tests.e2e.conftest import Functions
from tests.fuzz.effects import TableRows
from tests.fuzz.endpoints import Endpoint, endpoints
from tests.fuzz.probe import FuzzRequest, Probe

pytestmark = pytest.mark.fuzz

NO_TOKEN = FuzzRequest({}, None, "no token")


def _endpoint(operation_id: str) -> Endpoint:
    return next(e for e in endpoints() if e.operation_id == operation_id)


def test_probe_table_entity_added_before_401_reported(
    probe: Probe, functions: Functions, azurite: dict[str, str]
) -> None:
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])
    table = service.create_table_if_not_exists(functions.settings["IDENTITY_TABLE_NAME"])
    table.create_entity({"PartitionKey": uuid.uuid4().hex, "RowKey": "written-behind-a-401"})

    with pytest.raises(AssertionError, match="side effect"):
        probe.send(_endpoint("createIdentity"), NO_TOKEN)


def test_probe_table_row_swapped_before_401_reported(
    probe: Probe, functions: Functions, azurite: dict[str, str]
) -> None:
    """One row removed and another added leaves the count as it was: still a side effect."""
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])
    table = service.create_table_if_not_exists(functions.settings["SMS_IDEMPOTENCY_TABLE_NAME"])
    table.create_entity({"PartitionKey": "before", "RowKey": "r"})
    probe.baseline = probe.effects.snapshot()
    table.delete_entity("before", "r")
    table.create_entity({"PartitionKey": "after", "RowKey": "r"})

    with pytest.raises(AssertionError, match=r"side effect.*rows added \[\('after', 'r'\)\]"):
        probe.send(_endpoint("sendSms"), NO_TOKEN)


def test_table_rows_past_first_page_all_read(azurite: dict[str, str]) -> None:
    """Azurite answers 1,000 rows a page: the reader follows the continuation."""
    connection = azurite["AZURITE_CONNECTION_STRING"]
    name = f"rows{uuid.uuid4().hex[:12]}"
    table = TableServiceClient.from_connection_string(connection).create_table(name)
    for start in range(0, 1204, 100):
        table.submit_transaction([("create", {"PartitionKey": "p", "RowKey": f"{n:05d}"})
                                  for n in range(start, min(start + 100, 1204))])
    rows = TableRows(connection, name)

    rows.send()
    read = rows.answer()

    assert read == {(e["PartitionKey"], e["RowKey"]) for e in table.list_entities()}
    assert len(read) == 1204


def test_probe_acs_call_before_401_reported(probe: Probe, emulator: EmulatorClient) -> None:
    response = emulator.http.post(
        f"{emulator.settings['ACS_ENDPOINT']}/identities", params={"api-version": "2023-10-01"},
        headers={"Authorization": f"Bearer {emulator.managed_identity_token()}"}, json={},
        timeout=10,
    )
    assert response.status_code == 201, response.text

    with pytest.raises(AssertionError, match=r"identity\.create"):
        probe.send(_endpoint("issueToken"), NO_TOKEN)


def test_probe_answer_not_in_openapi_reported(probe: Probe, openapi: dict[str, Any]) -> None:
    narrowed = {**openapi, "paths": {
        "/api/sms": {"post": {**openapi["paths"]["/api/sms"]["post"], "responses": {
            status: answer for status, answer
            in openapi["paths"]["/api/sms"]["post"]["responses"].items() if status != "401"
        }}},
    }}
    probe.spec = narrowed

    with pytest.raises(AssertionError, match=r"status not in openapi\.yaml"):
        probe.send(_endpoint("sendSms"), NO_TOKEN)


def test_probe_clean_401_passes(probe: Probe) -> None:
    response = probe.send(_endpoint("sendSms"), NO_TOKEN)

    assert response.status_code == 401
