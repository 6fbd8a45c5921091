"""Property-based requests against every HTTP endpoint openapi.yaml documents, over real HTTP
through the local host, with the emulator and Azurite behind it."""

from __future__ import annotations

import time

import pytest
from hypothesis import given

from tests.fuzz.endpoints import Endpoint, endpoints
from tests.fuzz.probe import TALLY, FuzzRequest, Probe
from tests.fuzz.profiles import Profile
from tests.fuzz.tokens import Credentials
from tests.fuzz.traffic import requests_for

pytestmark = pytest.mark.fuzz


@pytest.mark.parametrize("endpoint", endpoints(), ids=lambda e: e.operation_id)
def test_fuzz_endpoint_any_request_no_5xx_problem_json_no_side_effect(
    endpoint: Endpoint, probe: Probe, credentials: Credentials, profile: Profile,
    host_log_clean: None,
) -> None:
    sent_before = TALLY.sent[endpoint.name]
    started = time.perf_counter()

    @profile.settings
    @given(requests_for(endpoint, credentials))
    def exchange(request: FuzzRequest) -> None:
        probe.send(endpoint, request)

    exchange()

    TALLY.seconds[endpoint.name] += time.perf_counter() - started
    sent = TALLY.sent[endpoint.name] - sent_before
    assert sent >= profile.requests, f"{endpoint.name}: {sent} requests, {profile.requests} due"
