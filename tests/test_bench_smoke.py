"""The benchmarks run, and their non-timing figures hold: no timings are asserted here."""

from __future__ import annotations

from bench import sms_bench, token_bench


def test_token_bench_small_run_counts_hold() -> None:
    result = token_bench.run(rounds=2, per_round=2, cpu_calls=5, throughput_calls=64,
                             naive_calls=2, warm_calls=50)

    # Warm invocations reuse the process's one credential and JWKS client...
    assert result["mi_tokens_per_1000"] == 0
    assert result["jwks_fetches_per_1000"] == 0
    # ...32 first calls on a cold process make one request of each...
    assert result["cold_concurrent_mi"] == 1
    assert result["cold_concurrent_jwks"] == 1
    # ...and 32 threads never discard a pooled connection.
    assert result["throughput"]["service@32"][1] == 0
    assert all(result[name] > 0 for name in ("service_ms", "plain_ms", "sdk_ms", "naive_ms"))


def test_sms_bench_small_run_counts_hold() -> None:
    result = sms_bench.run(rounds=1, per_round=1)

    assert result["acs_calls"] == 10
    assert result["replay_acs_calls"] == 0
