"""Fixtures for the token service tests: callers, and what Azurite holds for a test."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from azure.data.tables import TableServiceClient

from tests.support import EmulatorClient


@pytest.fixture
def user_token(emulator: EmulatorClient) -> str:
    return emulator.mint("user-1")


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
    """The identity map's rows for this test (empty if the table was never created)."""
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])
    name = app_env["IDENTITY_TABLE_NAME"]

    def rows() -> list[dict[str, object]]:
        if name not in table_names():
            return []
        return [dict(e) for e in service.get_table_client(name).list_entities()]

    return rows
