"""The fuzz tier's checks can fail: a Table write or an ACS call behind a 4xx is reported, as is
an answer openapi.yaml does not list; the table proxy counts every write Azurite carried out
and nothing else."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from emulator.client import EmulatorClient
from tests.e2e.conftest import Functions
from tests.fuzz.effects import changes
from tests.fuzz.endpoints import Endpoint, endpoints
from tests.fuzz.probe import FuzzRequest, Probe

pytestmark = pytest.mark.fuzz

NO_TOKEN = FuzzRequest({}, None, "no token")


def _endpoint(operation_id: str) -> Endpoint:
    return next(e for e in endpoints() if e.operation_id == operation_id)


def _table(functions: Functions, setting: str) -> TableClient:
    """The host's table, through the same counting proxy the host uses."""
    service = TableServiceClient.from_connection_string(
        functions.settings["IDENTITY_TABLE_ENDPOINT"])
    return service.get_table_client(functions.settings[setting])


def test_probe_table_entity_added_before_401_reported(probe: Probe, functions: Functions
                                                      ) -> None:
    _table(functions, "IDENTITY_TABLE_NAME").create_entity(
        {"PartitionKey": uuid.uuid4().hex, "RowKey": "written-behind-a-401"})

    with pytest.raises(AssertionError, match="side effect"):
        probe.send(_endpoint("createIdentity"), NO_TOKEN)


def test_probe_table_entity_changed_in_place_before_401_reported(
    probe: Probe, functions: Functions
) -> None:
    """The same rows, one of them merged with a new value: still a side effect."""
    table = _table(functions, "SMS_IDEMPOTENCY_TABLE_NAME")
    key = uuid.uuid4().hex
    table.create_entity({"PartitionKey": key, "RowKey": "r", "state": "before"})
    probe.baseline = probe.effects.snapshot()
    table.update_entity({"PartitionKey": key, "RowKey": "r", "state": "after"},
                        mode=UpdateMode.MERGE)

    name = functions.settings["SMS_IDEMPOTENCY_TABLE_NAME"]
    with pytest.raises(AssertionError, match=rf"side effect.*table writes {name}': '(\d+) -> "):
        probe.send(_endpoint("sendSms"), NO_TOKEN)


def test_table_proxy_counts_each_write_carried_out_only(functions: Functions, probe: Probe
                                                        ) -> None:
    """Reads and refused writes change nothing; a transaction counts each of its operations."""
    table = _table(functions, "IDENTITY_TABLE_NAME")
    key = uuid.uuid4().hex
    table.create_entity({"PartitionKey": key, "RowKey": "a"})
    before = probe.effects.snapshot()

    table.get_entity(key, "a")
    list(table.query_entities("PartitionKey eq @key", parameters={"key": key}))
    with pytest.raises(ResourceExistsError):
        table.create_entity({"PartitionKey": key, "RowKey": "a"})
    with pytest.raises(ResourceModifiedError):
        table.delete_entity(key, "a", etag="W/\"datetime'2000-01-01T00%3A00%3A00Z'\"",
                            match_condition=MatchConditions.IfNotModified)
    unchanged = probe.effects.snapshot()
    table.submit_transaction([("create", {"PartitionKey": key, "RowKey": r}) for r in "bcd"])
    after = probe.effects.snapshot()

    assert changes(before, unchanged) == {}
    name = f"table writes {functions.settings['IDENTITY_TABLE_NAME']}"
    assert after[name] - unchanged[name] == 3


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
