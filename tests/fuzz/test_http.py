"""Property-based requests against every HTTP endpoint openapi.yaml documents, over real HTTP
through the local host, with the emulator and Azurite behind it. The runs go on in the
background, in two lanes side by side (tests/fuzz/campaign.py); each test waits for its
operation's run."""

from __future__ import annotations

import pytest

from tests.fuzz.campaign import Campaign
from tests.fuzz.endpoints import Endpoint, endpoints
from tests.fuzz.probe import TALLY
from tests.fuzz.profiles import Profile

pytestmark = pytest.mark.fuzz


@pytest.mark.parametrize("endpoint", endpoints(), ids=lambda e: e.operation_id)
def test_fuzz_endpoint_any_request_no_5xx_problem_json_no_side_effect(
    endpoint: Endpoint, http_run: Campaign, profile: Profile,
) -> None:
    http_run.check(endpoint)  # no 5xx, problem+json, no side effect; a clean host log

    sent = TALLY.sent[endpoint.name]
    assert sent >= profile.requests, f"{endpoint.name}: {sent} requests, {profile.requests} due"
