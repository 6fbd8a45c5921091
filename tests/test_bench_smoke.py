"""The benchmarks run, and their non-timing figures hold: no timings are asserted here."""

from __future__ import annotations

from bench import lifecycle_bench, token_bench


def test_token_bench_small_run_caches_credential_and_keys() -> None:
    result = token_bench.run(rounds=1, per_round=3, naive_calls=4)

    # Warm invocations reuse the one credential and JWKS client of the process...
    assert result["mi_tokens_per_1000"] == 0
    assert result["jwks_fetches_per_1000"] == 0
    # ...while a handler that rebuilds them pays one of each per request.
    assert result["naive_mi_tokens_per_1000"] == 1000
    assert result["naive_jwks_fetches_per_1000"] == 1000
    assert result["service_median_ms"] > 0 and result["minimum_median_ms"] > 0


def test_lifecycle_bench_counts_acs_calls_and_table_operations() -> None:
    result = lifecycle_bench.run(calls=2)

    def cost(name: str) -> tuple[float, float, float]:
        return result[name]["acs"], result[name]["reads"], result[name]["writes"]

    # (ACS calls, Table reads, Table writes) per call, as the README states them.
    for prefix in ("GET /api/identities/me", "GET /api/users/{userKey}/identity"):
        assert cost(prefix) == (0, 1, 0)
    for name in ("POST /api/identities/me/revoke", "POST /api/users/{userKey}/identity/revoke",
                 "identity-events revoke"):
        assert cost(name) == (1, 1, 0)
    for name in ("DELETE /api/identities/me", "DELETE /api/users/{userKey}/identity",
                 "identity-events delete"):
        assert cost(name) == (1, 1, 2)
    assert cost("DELETE /api/identities/me (none)") == (0, 1, 0)
    assert cost("GET /api/identities/{communicationUserId}") == (0, 2, 0)
