"""The benchmarks run, and their non-timing figures hold: no timings are asserted here."""

from __future__ import annotations

from bench import token_bench


def test_token_bench_small_run_caches_credential_and_keys() -> None:
    result = token_bench.run(rounds=1, per_round=3, naive_calls=4)

    # Warm invocations reuse the one credential and JWKS client of the process...
    assert result["mi_tokens_per_1000"] == 0
    assert result["jwks_fetches_per_1000"] == 0
    # ...while a handler that rebuilds them pays one of each per request.
    assert result["naive_mi_tokens_per_1000"] == 1000
    assert result["naive_jwks_fetches_per_1000"] == 1000
    assert result["service_median_ms"] > 0 and result["minimum_median_ms"] > 0
