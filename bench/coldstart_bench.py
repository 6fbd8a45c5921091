"""Cold start: a fresh process, from launch to the first token of a returning user, for the
service and for the SDK-based handler with module-level clients (the fair peer). Processes of
the two alternate, round after round; the figures are medians.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import IssueToken
from bench.stack import Figure, local_stack, report
from devhost.direct import http_request
from emulator.client import EmulatorClient
from shared.identity.map import PARTITION, user_row
from shared.services import get_services

ROOT = Path(__file__).resolve().parents[1]


def _launch(kind: str, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bench.coldstart_child", kind], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=True)
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise RuntimeError(f"{kind} cold start did not answer 200")
    return elapsed, result


def run(rounds: int) -> dict[str, Any]:
    with local_stack() as settings:
        emulator = EmulatorClient(settings)
        token = emulator.mint("cold-user")
        response = IssueToken.main(http_request("POST", "token", token=token))
        assert response.status_code == 200
        services = get_services()
        caller = services.authenticator.authenticate(f"Bearer {token}")
        env = {**os.environ, "BENCH_TOKEN": token,
               "BENCH_TABLE": services.settings.identity_table_name,
               "BENCH_PARTITION": PARTITION, "BENCH_ROW": user_row(caller)}
        samples: dict[str, list[tuple[float, dict[str, Any]]]] = {"service": [], "sdk": []}
        for kind in ("service", "sdk"):  # warm the OS file cache for both, untimed
            _launch(kind, env)
        for round_ in range(rounds):
            order = ("service", "sdk") if round_ % 2 == 0 else ("sdk", "service")
            for kind in order:
                samples[kind].append(_launch(kind, env))

    def median(kind: str, field: str | None = None) -> float:
        values = [total if field is None else detail[field] for total, detail in samples[kind]]
        return statistics.median(values) * 1000

    return {name: {"total_ms": median(name), "import_ms": median(name, "import_s"),
                   "call_ms": median(name, "call_s")} for name in samples}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.rounds)
    service, sdk = result["service"], result["sdk"]
    report("Cold start, fresh process to first token (medians of alternating launches)", [
        Figure("cold start: service / SDK handler", service["total_ms"] / sdk["total_ms"], "x",
               "<=", 1.0, f"{service['total_ms']:.0f} vs {sdk['total_ms']:.0f} ms; imports "
               f"{service['import_ms']:.0f} vs {sdk['import_ms']:.0f} ms, first call "
               f"{service['call_ms']:.0f} vs {sdk['call_ms']:.0f} ms"),
    ])


if __name__ == "__main__":
    main()
