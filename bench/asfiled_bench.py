"""IssueToken throughput at 32 threads against the service as it was when the performance
targets were set: commit `FILED`, the last before the first performance commit, taken from the
repository's own history (`git archive`).

Each version runs in its own fresh worker process (`bench/throughput_child.py`) on the same
emulator and Azurite, turn about, doing the same work for a returning user: the current one
with IDENTITY_CACHE_SECONDS=0, so it reads the identity map on every call as the old one does.
Each has its own identity table. Medians of the runs; CPU per call is the worker process's own.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from bench.stack import Figure, local_stack, report
from emulator.client import EmulatorClient

ROOT = Path(__file__).resolve().parent.parent
# The last commit before "Performance: one keep-alive transport for ACS and Tables ...".
FILED = "00f9a28"


def extract(revision: str, into: Path) -> bool:
    """The app at `revision`, from this repository's history; False without that history
    (a shallow clone: `git fetch --unshallow` brings it)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        return False
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(into, filter="data")
        else:  # our own repository's archive: regular files and folders only
            tar.extractall(into)  # noqa: S202
    return True


def _run(app_dir: Path, env: dict[str, str], threads: int, calls: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.throughput_child", str(app_dir), str(threads),
         str(calls)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        check=False)
    if done.returncode != 0:
        raise RuntimeError(f"throughput run of {app_dir} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    root = app_dir.resolve()
    for loaded in result.pop("loaded_from"):
        if not Path(loaded).resolve().is_relative_to(root):
            raise RuntimeError(f"the app under test was loaded from {loaded}, not {root}")
    return {key: float(value) for key, value in result.items()}


def run(rounds: int, threads: int, calls: int, revision: str = FILED
        ) -> dict[str, Any] | None:
    with tempfile.TemporaryDirectory(prefix="bench-filed-") as workdir:
        filed = Path(workdir) / "app"
        if not extract(revision, filed):
            return None
        with local_stack() as settings:
            token = EmulatorClient(settings).mint("bench-throughput")
            base = {**os.environ, "BENCH_TOKEN": token}
            apps = {
                "now": (ROOT, {**base, "IDENTITY_TABLE_NAME": "BenchNow",
                               "IDENTITY_CACHE_SECONDS": "0"}),
                "filed": (filed, {**base, "IDENTITY_TABLE_NAME": "BenchFiled"}),
            }
            samples: dict[str, list[dict[str, float]]] = {name: [] for name in apps}
            for round_ in range(rounds):
                order = list(apps) if round_ % 2 == 0 else list(reversed(apps))
                for name in order:
                    app_dir, env = apps[name]
                    samples[name].append(_run(app_dir, env, threads, calls))
    return {name: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            for name, runs in samples.items()}


def figures(result: dict[str, Any] | None, threads: int) -> list[Figure]:
    if result is None:
        return [Figure(f"throughput at {threads} threads, same work: now / as filed ({FILED})",
                       0.0, "x", None, None,
                       "not measured: this clone has no history (git fetch --unshallow)")]
    now, filed = result["now"], result["filed"]
    return [
        Figure(f"throughput at {threads} threads, same work: now / as filed ({FILED})",
               now["calls_per_s"] / filed["calls_per_s"], "x", ">=", 1.4,
               f"{now['calls_per_s']:.0f} vs {filed['calls_per_s']:.0f} calls/s; one worker "
               "process each, both reading the map"),
        Figure("CPU per call at that load: now / as filed",
               now["cpu_ms_per_call"] / filed["cpu_ms_per_call"], "x", None, None,
               f"{now['cpu_ms_per_call']:.2f} vs {filed['cpu_ms_per_call']:.2f} ms"),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    # Eight alternating runs: with six, the median ratio moved from 1.34x to 1.57x between runs.
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--calls", type=int, default=640)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    report("IssueToken throughput against the service as filed (medians of alternating runs)",
           figures(run(args.rounds, args.threads, args.calls), args.threads))


if __name__ == "__main__":
    main()
