"""IssueToken for a returning user against honest baselines, all measured in one run.

Warm latency (interleaved rounds, medians): the service doing the same work as the baselines
(the identity map read on every call, IDENTITY_CACHE_SECONDS=0), the same on azure-core's
default requests transport instead of the service's own, the plain keep-alive client
(the floor), the SDK-based handler with module-level clients (the fair peer) and the
per-request pattern of Microsoft's tutorial (the naive one); and the service as deployed, which
keeps a returning user's identity per instance and reads no map. Also: CPU per warm call;
throughput at 8 and 32 threads of the service reading the map, on its transport and on
azure-core's default one, and of the service as deployed (one user: every call a kept identity,
an upper bound); the connections each discards; managed identity and JWKS requests per 1,000
warm calls, and both counts for 32 concurrent first calls on a cold process.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from azure.core.pipeline.transport import RequestsTransport

import IssueToken
from bench.baselines import PlainClient, response_json, tutorial_handler
from bench.sdk_handler import SdkHandler
from bench.stack import Figure, interleaved, local_stack, on_services, report
from bench.threads import run_concurrently
from devhost.direct import http_request
from emulator.client import EmulatorClient
from shared.clients import tables
from shared.config.settings import Settings
from shared.identity.map import PARTITION, user_row
from shared.services import Services, get_services, use_services

logger = logging.getLogger(__name__)


def _issue(token: str) -> None:
    response = IssueToken.main(http_request("POST", "token", token=token))
    if response.status_code != 200:
        raise RuntimeError(f"IssueToken answered {response.status_code}")


class _Discards(logging.Handler):
    """Counts urllib3's "Connection pool is full, discarding connection" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "discarding connection" in record.getMessage():
            self.count += 1


def _default_transport() -> RequestsTransport:
    """azure-core's default transport, with the time-outs the service gives Table calls."""
    return RequestsTransport(connection_timeout=tables.CONNECT_TIMEOUT,
                             read_timeout=tables.READ_TIMEOUT)


def _throughput(call: Callable[[], None], threads: int, calls: int) -> tuple[float, int]:
    """Calls per second with `threads` threads sharing `calls`, and connections discarded."""
    discards = _Discards()
    pool_logger = logging.getLogger("urllib3.connectionpool")
    pool_logger.addHandler(discards)
    # Counted, not printed: the default transport's discards would flood the report.
    pool_logger.propagate = False
    try:
        elapsed = run_concurrently(call, threads, calls)
    finally:
        pool_logger.removeHandler(discards)
        pool_logger.propagate = True
    return calls / elapsed, discards.count


def _cpu_per_call(call: Callable[[], object], calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) / calls


def _cpu_interleaved(calls: dict[str, Callable[[], object]], per_call: int,
                     rounds: int = 3) -> dict[str, float]:
    """CPU seconds per call of each, in turns over `rounds` rounds; the median round."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            samples[name].append(_cpu_per_call(call, max(1, per_call // rounds)))
    return {name: statistics.median(values) for name, values in samples.items()}


def _cold_concurrent(emulator: EmulatorClient, token: str, threads: int) -> tuple[int, int]:
    """A new process's services; `threads` first calls at once: MI and JWKS requests made."""
    use_services(None)
    before = emulator.counters()
    barrier = threading.Barrier(threads)

    def first_call() -> None:
        barrier.wait()
        _issue(token)

    workers = [threading.Thread(target=first_call) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    after = emulator.counters()
    return after["mi.token"] - before["mi.token"], after["oidc.jwks"] - before["oidc.jwks"]


def run(rounds: int, per_round: int, cpu_calls: int, throughput_calls: int,
        naive_calls: int, warm_calls: int = 1000) -> dict[str, Any]:
    with local_stack() as settings:
        emulator = EmulatorClient(settings)
        token = emulator.mint("bench-user")
        authorization = f"Bearer {token}"
        _issue(token)  # first use: creates and maps the identity
        services = get_services()
        caller = services.authenticator.authenticate(authorization)
        table = services.settings.identity_table_name
        plain = PlainClient(settings, table, PARTITION, user_row(caller))
        sdk = SdkHandler(settings, table, PARTITION, user_row(caller))
        # The same service reading the map on every call: the same work as the baselines.
        reading = Services(dataclasses.replace(services.settings, identity_cache_seconds=0))
        # The same again on azure-core's default requests transport: what the service's own
        # transport is worth.
        on_default = Services(reading.settings, transport=_default_transport())
        deployed = on_services(services, lambda: _issue(token))
        same_work = on_services(reading, lambda: _issue(token))
        candidates: dict[str, Callable[[], object]] = {
            "service": same_work,
            "default": on_services(on_default, lambda: _issue(token)),
            "deployed": deployed,
            "plain": lambda: response_json(plain.issue(authorization)),
            "sdk": lambda: response_json(sdk.issue(authorization)),
        }
        for _ in range(20):  # warm every path
            for candidate in candidates.values():
                candidate()
        medians = interleaved(candidates, rounds=rounds, per_round=per_round)
        naive = interleaved({"naive": lambda: response_json(tutorial_handler(settings)),
                             "service": same_work},
                            rounds=rounds, per_round=max(1, naive_calls // rounds))

        cpu = _cpu_interleaved({"deployed": deployed, "service": same_work,
                                "default": candidates["default"],
                                "plain": candidates["plain"]}, cpu_calls)

        use_services(services)
        before = emulator.counters()
        for _ in range(warm_calls):
            _issue(token)
        after = emulator.counters()
        warm_mi = (after["mi.token"] - before["mi.token"]) * 1000 // warm_calls
        warm_jwks = (after["oidc.jwks"] - before["oidc.jwks"]) * 1000 // warm_calls

        reading_settings = dataclasses.replace(Settings.from_env(), identity_cache_seconds=0)
        under_test = [("deployed", Services(Settings.from_env())),
                      ("service", Services(reading_settings)),
                      ("default", Services(reading_settings, transport=_default_transport()))]
        samples: dict[str, list[tuple[float, int]]] = {}
        for round_ in range(rounds):
            for threads in (8, 32):
                order = under_test if round_ % 2 == 0 else list(reversed(under_test))
                for name, services_under_test in order:
                    use_services(services_under_test)
                    _issue(token)
                    samples.setdefault(f"{name}@{threads}", []).append(
                        _throughput(lambda: _issue(token), threads, throughput_calls))
        throughput = {name: (statistics.median(rate for rate, _ in values),
                             max(discarded for _, discarded in values))
                      for name, values in samples.items()}
        cold_mi, cold_jwks = _cold_concurrent(emulator, token, 32)
        use_services(None)

    return {
        "service_ms": medians["service"] * 1000,
        "deployed_ms": medians["deployed"] * 1000,
        "default_ms": medians["default"] * 1000,
        "plain_ms": medians["plain"] * 1000,
        "sdk_ms": medians["sdk"] * 1000,
        "naive_ms": naive["naive"] * 1000,
        "naive_service_ms": naive["service"] * 1000,
        "service_over_plain": medians["service"] / medians["plain"],
        "service_over_sdk": medians["service"] / medians["sdk"],
        "deployed_over_plain": medians["deployed"] / medians["plain"],
        "default_over_plain": medians["default"] / medians["plain"],
        "naive_over_service": naive["naive"] / naive["service"],
        "cpu_deployed_ms": cpu["deployed"] * 1000,
        "cpu_service_ms": cpu["service"] * 1000,
        "cpu_default_ms": cpu["default"] * 1000,
        "cpu_plain_ms": cpu["plain"] * 1000,
        "throughput": throughput,
        "mi_tokens_per_1000": warm_mi,
        "jwks_fetches_per_1000": warm_jwks,
        "cold_concurrent_mi": cold_mi,
        "cold_concurrent_jwks": cold_jwks,
    }


def figures(result: dict[str, Any]) -> list[Figure]:
    t = result["throughput"]
    return [
        Figure("warm, same work: service / plain keep-alive client",
               result["service_over_plain"], "x", "<=", 1.15,
               f"{result['service_ms']:.2f} vs {result['plain_ms']:.2f} ms; both read the map"),
        Figure("warm, same work: service / SDK handler (module-level clients)",
               result["service_over_sdk"], "x", "<=", 1.0,
               f"{result['service_ms']:.2f} vs {result['sdk_ms']:.2f} ms"),
        Figure("warm, same work on azure-core's default transport / plain keep-alive client",
               result["default_over_plain"], "x", None, None,
               f"{result['default_ms']:.2f} vs {result['plain_ms']:.2f} ms; the service's own "
               "transport's share"),
        Figure("warm, as deployed: service / plain keep-alive client",
               result["deployed_over_plain"], "x", None, None,
               f"{result['deployed_ms']:.2f} vs {result['plain_ms']:.2f} ms; the service "
               "keeps the caller's identity and reads no map, the plain client reads it"),
        Figure("warm: tutorial per-request handler / service", result["naive_over_service"],
               "x", None, None, f"{result['naive_ms']:.2f} vs "
               f"{result['naive_service_ms']:.2f} ms (new client and identity per call)"),
        Figure("CPU per warm call, as deployed", result["cpu_deployed_ms"], "ms", "<=", 3.5,
               f"reading the map {result['cpu_service_ms']:.2f} ms, the same on azure-core's "
               f"default transport {result['cpu_default_ms']:.2f} ms; plain client "
               f"{result['cpu_plain_ms']:.2f} ms"),
        Figure("throughput at 32 threads, same work: service / azure-core default transport",
               t["service@32"][0] / t["default@32"][0], "x", None, None,
               f"{t['service@32'][0]:.0f} vs {t['default@32'][0]:.0f} calls/s; at 8 threads "
               f"{t['service@8'][0]:.0f} vs {t['default@8'][0]:.0f}; both read the map: the "
               "transport's share; the target is held against the service as filed, in "
               "bench/asfiled_bench.py"),
        Figure("throughput at 32 threads, as deployed / same work on the default transport",
               t["deployed@32"][0] / t["default@32"][0], "x", None, None,
               f"{t['deployed@32'][0]:.0f} vs {t['default@32'][0]:.0f} calls/s; one user, so "
               "every call finds its identity kept: an upper bound"),
        Figure("connections discarded at 32 threads", t["service@32"][1], "", "<=", 0,
               f"azure-core default transport: {t['default@32'][1]}"),
        Figure("MI token requests per 1,000 warm calls", result["mi_tokens_per_1000"], "",
               "<=", 0, None),
        Figure("JWKS fetches per 1,000 warm calls", result["jwks_fetches_per_1000"], "",
               "<=", 0, None),
        Figure("MI token requests, 32 concurrent first calls (cold)",
               result["cold_concurrent_mi"], "", "<=", 1, None),
        Figure("JWKS fetches, 32 concurrent first calls (cold)",
               result["cold_concurrent_jwks"], "", "<=", 1, None),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=40)
    parser.add_argument("--cpu-calls", type=int, default=300)
    parser.add_argument("--throughput-calls", type=int, default=320)
    parser.add_argument("--naive-calls", type=int, default=35)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.rounds, args.per_round, args.cpu_calls, args.throughput_calls,
                 args.naive_calls)
    report("IssueToken, returning user (medians of interleaved rounds)", figures(result))


if __name__ == "__main__":
    main()
