"""Fixtures for the token service tests: callers, and what Azurite holds for a test."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from azure.data.tables import TableServiceClient

from emulator.client import EmulatorClient
from shared.identity.map import IDENTITY_PREFIX, USER_PREFIX


@pytest.fixture
def user_token(emulator: EmulatorClient) -> str:
    return emulator.mint("user-1")


@pytest.fixture
def admin_token(emulator: EmulatorClient) -> str:
    """A backend's token carrying the default identity admin role."""
    return emulator.mint("offboarding-backend", roles=["Identity.Admin"])


@pytest.fixture
def table_names(azurite: dict[str, str]) -> Callable[[], set[str]]:
    """Names of the tables that exist in Azurite right now."""
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])

    def names() -> set[str]:
        return {table.name for table in service.list_tables()}

    return names


@pytest.fixture
def mapped_rows(
    azurite: dict[str, str], app_env: dict[str, str], table_names: Callable[[], set[str]]
) -> Callable[[], list[dict[str, object]]]:
    """The identity map's mappings for this test (empty if the table was never created)."""
    return _rows(azurite, app_env, table_names, USER_PREFIX)


@pytest.fixture
def reverse_rows(
    azurite: dict[str, str], app_env: dict[str, str], table_names: Callable[[], set[str]]
) -> Callable[[], list[dict[str, object]]]:
    """The identity map's reverse records (identity -> caller) for this test."""
    return _rows(azurite, app_env, table_names, IDENTITY_PREFIX)


def _rows(
    azurite: dict[str, str], app_env: dict[str, str], table_names: Callable[[], set[str]],
    prefix: str,
) -> Callable[[], list[dict[str, object]]]:
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])
    name = app_env["IDENTITY_TABLE_NAME"]

    def rows() -> list[dict[str, object]]:
        if name not in table_names():
            return []
        table = service.get_table_client(name)
        # The rows whose key starts with `prefix` (hex digests follow it).
        return [dict(e) for e in table.query_entities(
            "RowKey ge @low and RowKey lt @high",
            parameters={"low": prefix, "high": prefix + "\x7f"})]

    return rows
