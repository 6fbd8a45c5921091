"""What each identity lifecycle operation costs: ACS calls and Table Storage operations.

ACS calls are the emulator's own counters; Table operations are counted by the Table client's
transport (every HTTP request it sends). Each operation runs through its function's handler,
warm, for a user set up beforehand; the counts are per call.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from typing import Any

from azure.core.pipeline.transport import HttpRequest, HttpResponse, RequestsTransport
from azure.data.tables import TableServiceClient
from azure.functions.queue import QueueMessage

import IdentityEvents
import IdentityLookup
import IssueToken
import MyIdentity
import RevokeMyTokens
import RevokeUserTokens
import UserIdentity
from bench.stack import local_stack
from devhost.direct import http_request, json_body
from emulator.client import EmulatorClient
from shared.clients.tables import LazyTable
from shared.identity.lifecycle import IdentityLifecycle
from shared.identity.map import TableIdentityMap
from shared.identity.recent import RecentIdentities
from shared.identity.tokens import TokenService
from shared.services import Services, get_services, use_services

logger = logging.getLogger(__name__)

# The issue's budget for each lifecycle operation.
ACS_BUDGET, TABLE_BUDGET = 1, 2
# (the caller's app-user token, their subject, their mapped identity or "")
Operation = Callable[[str, str, str], None]


class CountingTransport(RequestsTransport):  # type: ignore[misc]  # untyped base
    """The Table client's usual transport, counting reads (GET) and writes (the rest)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reads = 0
        self.writes = 0

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if request.method == "GET":
            self.reads += 1
        else:
            self.writes += 1
        response: HttpResponse = super().send(request, **kwargs)
        return response


class _Output:
    """The dead-letter binding of the queue function (unused when messages are valid)."""

    def set(self, val: str) -> None:
        raise RuntimeError(f"unexpected dead letter: {val}")


def _acs_calls(emulator: EmulatorClient) -> int:
    return sum(n for op, n in emulator.counters().items() if op.startswith("identity."))


def _status(response: Any, expected: int) -> None:
    if response.status_code != expected:
        raise RuntimeError(f"answered {response.status_code}, expected {expected}")


def run(calls: int = 5) -> dict[str, dict[str, float]]:
    """Per operation: mean ACS calls, Table reads and writes over `calls` runs of it."""
    with local_stack() as settings:
        emulator = EmulatorClient(settings)
        services = get_services()
        transport = CountingTransport()
        tables = TableServiceClient.from_connection_string(
            settings["IDENTITY_TABLE_ENDPOINT"], transport=transport)
        identities = TableIdentityMap(LazyTable(tables, services.settings.identity_table_name))
        # The process's services, but with the identity map on a Table client whose transport
        # counts requests.
        counted = Services(services.settings)
        counted.tokens = TokenService(counted.acs, identities, counted.recent_identities)
        counted.lifecycle = IdentityLifecycle(counted.acs, identities,
                                              services.settings.auth_issuer,
                                              counted.recent_identities)
        use_services(counted)
        admin = emulator.mint("bench-admin", roles=[services.settings.identity_admin_role])

        def user_call(main: Callable[..., Any], method: str, expected: int
                      ) -> Operation:
            return lambda token, sub, identity_id: _status(
                main(http_request(method, "x", token=token)), expected)

        def admin_call(main: Callable[..., Any], method: str, expected: int
                       ) -> Operation:
            return lambda token, sub, identity_id: _status(main(http_request(
                method, "x", token=admin, route_params={"userKey": f"sub:{sub}"})), expected)

        def lookup(token: str, sub: str, identity_id: str) -> None:
            _status(IdentityLookup.main(http_request(
                "GET", "x", token=admin, route_params={"communicationUserId": identity_id})),
                200)

        def event(action: str) -> Operation:
            def deliver(token: str, sub: str, identity_id: str) -> None:
                body = json.dumps({"action": action, "userKey": f"sub:{sub}"}).encode()
                message = QueueMessage(  # type: ignore[no-untyped-call]
                    id=f"bench-{sub}-{action}", body=body, dequeue_count=1)
                IdentityEvents.main(message, _Output())  # type: ignore[arg-type]
            return deliver

        def token_on_new_instance(token: str, sub: str, identity_id: str) -> None:
            # Another worker process: it has not kept this caller's identity yet.
            counted.tokens = TokenService(counted.acs, identities, RecentIdentities(
                counted.settings.identity_cache_seconds))
            user_call(IssueToken.main, "POST", 200)(token, sub, identity_id)

        operations: dict[str, tuple[bool, Operation]] = {
            # name: (the user has an identity first, the call)
            "GET /api/identities/me": (True, user_call(MyIdentity.main, "GET", 200)),
            "POST /api/identities/me/revoke": (True, user_call(RevokeMyTokens.main, "POST",
                                                               204)),
            "DELETE /api/identities/me": (True, user_call(MyIdentity.main, "DELETE", 204)),
            "DELETE /api/identities/me (none)": (False, user_call(MyIdentity.main, "DELETE",
                                                                  204)),
            "GET /api/users/{userKey}/identity": (True, admin_call(UserIdentity.main, "GET",
                                                                   200)),
            "POST /api/users/{userKey}/identity/revoke": (
                True, admin_call(RevokeUserTokens.main, "POST", 204)),
            "DELETE /api/users/{userKey}/identity": (
                True, admin_call(UserIdentity.main, "DELETE", 204)),
            "GET /api/identities/{communicationUserId}": (True, lookup),
            "identity-events revoke": (True, event("revoke")),
            "identity-events delete": (True, event("delete")),
            "POST /api/token (first use, for comparison)": (False, user_call(
                IssueToken.main, "POST", 200)),
            "POST /api/token (returning user)": (True, user_call(IssueToken.main, "POST", 200)),
            "POST /api/token (returning user, new instance)": (True, token_on_new_instance),
        }
        results: dict[str, dict[str, float]] = {}
        for index, (name, (mapped, operation)) in enumerate(operations.items()):
            totals = {"acs": 0, "reads": 0, "writes": 0}
            for run_ in range(calls):
                sub = f"bench-{index}-{run_}"
                token = emulator.mint(sub)
                identity_id = ""
                if mapped:
                    issued = IssueToken.main(http_request("POST", "token", token=token))
                    _status(issued, 200)
                    identity_id = json_body(issued)["communicationUserId"]
                acs, reads, writes = _acs_calls(emulator), transport.reads, transport.writes
                operation(token, sub, identity_id)
                totals["acs"] += _acs_calls(emulator) - acs
                totals["reads"] += transport.reads - reads
                totals["writes"] += transport.writes - writes
            results[name] = {key: value / calls for key, value in totals.items()}
        use_services(None)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = run(args.calls)
    print(f"Identity lifecycle, cost per call (budget: {ACS_BUDGET} ACS call, "
          f"{TABLE_BUDGET} Table operations)")
    for name, cost in results.items():
        table = cost["reads"] + cost["writes"]
        verdict = "within" if cost["acs"] <= ACS_BUDGET and table <= TABLE_BUDGET else "OVER"
        print(f"  {name:46s} ACS {cost['acs']:.0f}  Table {table:.0f} "
              f"(reads {cost['reads']:.0f}, writes {cost['writes']:.0f})  {verdict}")


if __name__ == "__main__":
    main()

