"""Concurrent first requests for one new user: one mapping, one live ACS identity."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

import CreateIdentity
import IssueToken
from devhost.direct import http_request, json_body
from emulator.client import EmulatorClient

CONCURRENCY = 12


@pytest.mark.parametrize("function", [CreateIdentity, IssueToken], ids=["identities", "token"])
def test_first_requests_concurrent_one_mapping_no_orphans(
    function: object, app_env: dict[str, str], emulator: EmulatorClient,
    mapped_rows: Callable[[], list[dict[str, object]]],
) -> None:
    token = emulator.mint("racing-user")
    # Latency on create makes every request see "no mapping yet" before any insert lands.
    emulator.fault("identity.create", 200, count=CONCURRENCY, latencyMs=300)
    main = function.main  # type: ignore[attr-defined]
    route = "identities" if function is CreateIdentity else "token"

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        responses = list(pool.map(
            lambda _: main(http_request("POST", route, token=token)), range(CONCURRENCY)
        ))

    assert all(r.status_code in (200, 201) for r in responses), [r.status_code for r in responses]
    ids = {json_body(r)["communicationUserId"] for r in responses}
    assert len(ids) == 1
    (winner,) = ids
    identities = emulator.identities()
    assert [i["id"] for i in identities if i["state"] == "active"] == [winner]
    created = emulator.counters()["identity.create"]
    assert created > 1, "the race did not happen; the test proves nothing"
    assert sum(1 for i in identities if i["state"] == "deleted") == created - 1
    assert [row["CommunicationUserId"] for row in mapped_rows()] == [winner]
    if function is CreateIdentity:
        assert sorted(r.status_code for r in responses).count(201) == 1
