"""Table calls keep their own per-attempt time-outs on the transport every client shares.

The Tables SDK applies a client's `connection_timeout` and `read_timeout` only to a transport it
builds itself; on a shared one they are dropped, and azure-core's defaults (five minutes each)
would hold a function on a Table endpoint that accepts and never answers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from shared.auth.caller import Caller
from shared.clients import tables
from shared.clients.transport import PooledTransport
from shared.errors import UpstreamUnavailable
from shared.services import Services, get_services
from tests.unit.wire import WireServer, table_connection


@pytest.fixture
def silent_table(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[WireServer]:
    """A Table endpoint on loopback that reads every request and never answers."""
    server = WireServer(lambda _: b"", hold_seconds=30)
    monkeypatch.setenv("IDENTITY_TABLE_ENDPOINT", table_connection(server))
    try:
        yield server
    finally:
        server.stop()


def test_services_transport_defaults_are_the_table_timeouts(app_env: dict[str, str]) -> None:
    transport = get_services().transport
    assert isinstance(transport, PooledTransport)  # no proxy configured
    config = transport.connection_config

    assert (config.timeout, config.read_timeout) == (tables.CONNECT_TIMEOUT,
                                                     tables.READ_TIMEOUT)


def test_silent_table_fails_within_its_timeouts(
    silent_table: WireServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shared.services.TABLE_READ_TIMEOUT", 0.3)
    services = get_services()
    assert isinstance(services, Services)
    caller = Caller(issuer="https://issuer.example", subject="sub:user-1", roles=frozenset())
    errors: list[BaseException] = []
    finished = threading.Event()

    def read() -> None:
        try:
            services.identities.get(caller)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finished.set()

    threading.Thread(target=read, daemon=True).start()

    assert finished.wait(timeout=15), "the Table read waited past its time-outs"
    assert len(errors) == 1 and isinstance(errors[0], UpstreamUnavailable)
    # The first try and the Table client's 2 retries.
    assert silent_table.wait_received(3) == 3
