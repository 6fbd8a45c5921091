"""The fuzz runs' local hosts: each reaches its tables through a counting proxy of its own
(tests/fuzz/table_proxy.py), and finds both tables there, as a deployment creates them, so a
table created on first use is never mistaken for a request's side effect. Azurite is shared:
each host's tables and queues are the only ones its checks read."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from azure.data.tables import TableServiceClient

from devhost.services import start_emulator
from emulator.client import EmulatorClient
from tests.conftest import function_app_settings
from tests.e2e.conftest import Functions, run_functions
from tests.fuzz.table_proxy import proxied_tables

TABLE_SETTINGS = ("IDENTITY_TABLE_NAME", "SMS_IDEMPOTENCY_TABLE_NAME")


@contextlib.contextmanager
def fuzz_host(app_settings: dict[str, str], azurite: dict[str, str], workdir: Path,
              cors_origin: str, extra: dict[str, str] | None = None) -> Iterator[Functions]:
    """The local host on `app_settings` plus `extra`, its tables behind a proxy, until exit."""
    with proxied_tables(azurite, workdir / "table-proxy") as (proxied, _):
        host_dir = workdir / "host"
        host_dir.mkdir()
        with run_functions(app_settings, host_dir, cors_origin,
                           {**(extra or {}), "IDENTITY_TABLE_ENDPOINT": proxied}) as functions:
            service = TableServiceClient.from_connection_string(
                azurite["AZURITE_CONNECTION_STRING"])
            for setting in TABLE_SETTINGS:
                service.create_table_if_not_exists(functions.settings[setting])
            yield functions


def table_proxy_of(functions: Functions) -> str:
    """The origin of the proxy a host's tables are reached through (its table endpoint)."""
    parts = dict(item.split("=", 1) for item in
                 functions.settings["IDENTITY_TABLE_ENDPOINT"].split(";") if "=" in item)
    return parts["TableEndpoint"].rsplit("/", 1)[0]


@contextlib.contextmanager
def own_stack(azurite: dict[str, str], workdir: Path, cors_origin: str,
              extra: dict[str, str] | None = None) -> Iterator[tuple[Functions, EmulatorClient]]:
    """An emulator of its own and a local host on it (as `fuzz_host`), and the emulator's
    client, until exit."""
    emulator_service = start_emulator(workdir=workdir / "emulator")
    try:
        settings = function_app_settings(emulator_service.settings, azurite)
        with fuzz_host(settings, azurite, workdir, cors_origin, extra) as functions:
            yield functions, EmulatorClient(emulator_service.settings)
    finally:
        emulator_service.stop()
