"""IssueToken for a returning user, warm, against the minimum work it cannot avoid.

Minimum work: one Table point read plus one direct ACS issue-token call on a ready pipeline.
Also: managed identity token requests and JWKS fetches per 1,000 invocations, and the same
figures for a naive handler that builds its credential and clients on every request.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import IssueToken
from bench.stack import local_stack, median_of_rounds, timed
from shared.identity_map import ROW_KEY, partition_key
from shared.services import get_services, use_services
from tests.support import EmulatorClient, http_request

logger = logging.getLogger(__name__)


def _issue(token: str) -> None:
    response = IssueToken.main(http_request("POST", "token", token=token))
    if response.status_code != 200:
        raise RuntimeError(f"IssueToken answered {response.status_code}")


def _counts(emulator: EmulatorClient) -> tuple[int, int]:
    counters = emulator.counters()
    return counters["mi.token"], counters["oidc.jwks"]


def _delta(before: tuple[int, int], after: tuple[int, int]) -> tuple[int, int]:
    return after[0] - before[0], after[1] - before[1]


def run(rounds: int, per_round: int, naive_calls: int) -> dict[str, Any]:
    with local_stack() as settings:
        emulator = EmulatorClient(settings)
        token = emulator.mint("bench-user")
        _issue(token)  # first use: creates and maps the identity
        services = get_services()
        caller = services.authenticator.authenticate(f"Bearer {token}")
        identity_id = services.tokens.ensure_identity(caller)[0]
        table = services.tokens._identities._table.client  # type: ignore[attr-defined]
        scopes, minutes = sorted(services.settings.token_scopes), 60

        def minimum() -> None:
            table.get_entity(partition_key(caller), ROW_KEY)
            services.acs.issue_token(identity_id, scopes, minutes)

        for _ in range(20):  # warm both paths
            _issue(token)
            minimum()
        service_rounds: list[list[float]] = []
        minimum_rounds: list[list[float]] = []
        for _ in range(rounds):
            service_round, minimum_round = [], []
            for _ in range(per_round):  # interleaved, so both see the same machine load
                service_round.append(timed(lambda: _issue(token)))
                minimum_round.append(timed(minimum))
            service_rounds.append(service_round)
            minimum_rounds.append(minimum_round)

        before = _counts(emulator)
        for _ in range(1000):
            _issue(token)
        warm_mi, warm_jwks = _delta(before, _counts(emulator))

        before = _counts(emulator)
        naive: list[float] = []
        for _ in range(naive_calls):
            use_services(None)  # what a handler building everything per request pays
            naive.append(timed(lambda: _issue(token)))
        naive_mi, naive_jwks = _delta(before, _counts(emulator))
        use_services(None)

    service_ms = median_of_rounds(service_rounds) * 1000
    minimum_ms = median_of_rounds(minimum_rounds) * 1000
    naive_ms = median_of_rounds([naive]) * 1000
    scale = 1000 / naive_calls
    return {
        "service_median_ms": service_ms,
        "minimum_median_ms": minimum_ms,
        "service_over_minimum": service_ms / minimum_ms,
        "naive_median_ms": naive_ms,
        "naive_over_minimum": naive_ms / minimum_ms,
        "mi_tokens_per_1000": warm_mi,
        "jwks_fetches_per_1000": warm_jwks,
        "naive_mi_tokens_per_1000": naive_mi * scale,
        "naive_jwks_fetches_per_1000": naive_jwks * scale,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=60)
    parser.add_argument("--naive-calls", type=int, default=60)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.rounds, args.per_round, args.naive_calls)
    print("IssueToken, returning user, warm (medians of rounds)")
    print(f"  service            {result['service_median_ms']:8.2f} ms")
    print(f"  minimum work       {result['minimum_median_ms']:8.2f} ms  (Table point read + ACS)")
    print(f"  service / minimum  {result['service_over_minimum']:8.2f}x")
    print(f"  naive / minimum    {result['naive_over_minimum']:8.2f}x  "
          f"(new credential and clients per request: {result['naive_median_ms']:.2f} ms)")
    print("  per 1,000 invocations: "
          f"managed identity tokens {result['mi_tokens_per_1000']}, "
          f"JWKS fetches {result['jwks_fetches_per_1000']}; naive: "
          f"{result['naive_mi_tokens_per_1000']:.0f} and "
          f"{result['naive_jwks_fetches_per_1000']:.0f}")


if __name__ == "__main__":
    main()
