"""The benchmarks run, and their non-timing figures hold: no timings are asserted here."""

from __future__ import annotations

from bench import asfiled_bench, lifecycle_bench, sms_bench, token_bench


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
    assert all(result[name] > 0 for name in ("service_ms", "deployed_ms", "default_ms",
                                             "plain_ms", "sdk_ms", "naive_ms"))


def test_sms_bench_small_run_counts_hold() -> None:
    result = sms_bench.run(rounds=1, per_round=1)

    assert result["acs_calls"] == 10
    assert result["replay_acs_calls"] == 0


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
        assert cost(name) == (1, 1, 1)  # the mapping and its reverse record: one transaction
    assert cost("DELETE /api/identities/me (none)") == (0, 1, 0)
    assert cost("GET /api/identities/{communicationUserId}") == (0, 1, 0)
    assert cost("POST /api/token (first use, for comparison)") == (1, 1, 1)
    # A returning user: no map read while this instance keeps the identity, one on another.
    assert cost("POST /api/token (returning user)") == (1, 0, 0)
    assert cost("POST /api/token (returning user, new instance)") == (1, 1, 0)


def test_asfiled_bench_runs_an_app_taken_from_history() -> None:
    """HEAD stands in for the commit the targets were set at (a shallow clone has only HEAD):
    the same extraction, worker processes and figures."""
    result = asfiled_bench.run(rounds=1, threads=4, calls=8, revision="HEAD")

    assert result is not None
    for side in ("now", "filed"):
        assert result[side]["calls_per_s"] > 0 and result[side]["cpu_ms_per_call"] > 0
    first = asfiled_bench.figures(result, 4)[0]
    assert first.name.startswith("throughput at 4") and first.met is not None


def test_asfiled_bench_without_the_revision_says_so() -> None:
    assert asfiled_bench.run(rounds=1, threads=1, calls=1, revision="0" * 40) is None
    (figure,) = asfiled_bench.figures(None, 32)
    assert figure.met is None and figure.note is not None and "history" in figure.note
