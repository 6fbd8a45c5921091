"""Property-based requests against every HTTP endpoint openapi.yaml documents, over real HTTP
through the local host, with the emulator and Azurite behind it. The runs go on in the
background (tests/fuzz/campaign.py); each test waits for its operation's run."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Functions
from tests.fuzz.campaign import HttpRun
from tests.fuzz.endpoints import Endpoint, endpoints
from tests.fuzz.logs import assert_log_clean
from tests.fuzz.profiles import Profile

pytestmark = pytest.mark.fuzz


@pytest.mark.parametrize("endpoint", endpoints(), ids=lambda e: e.operation_id)
def test_fuzz_endpoint_any_request_no_5xx_problem_json_no_side_effect(
    endpoint: Endpoint, http_run: HttpRun, profile: Profile, functions: Functions,
) -> None:
    sent = http_run.futures[endpoint.operation_id].result()

    assert sent >= profile.requests, f"{endpoint.name}: {sent} requests, {profile.requests} due"
    # The local host runs out of process: its log gets no token and no traceback.
    assert_log_clean(functions.log, 0)
