"""Fuzz runs in processes of their own: their request generation and checks then take no
interpreter time from the runs in the test process. A child is `python -m MODULE SETTINGS
RESULT`: it reads its settings (JSON), runs, and writes RESULT (JSON): this tally and, for each
run it made, None or the failure's report (with hypothesis' reproduction details)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fuzz.probe import TALLY, Tally

REPO_ROOT = Path(__file__).resolve().parents[2]
_TIMES = ("seconds", "waiting", "checking")


class ChildRun:
    """The running child; `failure` waits for it and adds its counts to this process's tally
    (once)."""

    def __init__(self, module: str, settings: dict[str, Any], workdir: Path) -> None:
        settings_file = workdir / "run.json"
        settings_file.write_text(json.dumps(settings))
        self.result_file = workdir / "result.json"
        self.log = workdir / "run.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, str(settings_file), str(self.result_file)],
                cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        self._merged = False

    def failure(self, name: str, timeout: float) -> str | None:
        """Wait for the child: the report of its run `name` failing, or None if it passed."""
        self.process.wait(timeout)
        log = self.log.read_text(errors="replace")[-3000:]
        assert self.result_file.exists(), f"the run ended without a result:\n{log}"
        result = json.loads(self.result_file.read_text())
        if not self._merged:
            _merge(result["tally"], TALLY)
            self._merged = True
        assert name in result["failures"], f"no {name} run:\n{log}"
        failure: str | None = result["failures"][name]
        return failure

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def run_and_report(runs: list[tuple[str, Callable[[], None]]]) -> dict[str, str | None]:
    """Each run in turn: None when it passed, else its failure's report."""
    failures: dict[str, str | None] = {}
    for name, run in runs:
        try:
            run()
            failures[name] = None
        except Exception as error:  # noqa: BLE001 - any failure is the test's to report
            failures[name] = "".join(traceback.format_exception(error))
    return failures


def write_result(path: str, failures: dict[str, str | None]) -> None:
    tally = {"outcomes": {k: dict(v) for k, v in TALLY.outcomes.items()},
             **{name: dict(getattr(TALLY, name)) for name in _TIMES}}
    Path(path).write_text(json.dumps({"tally": tally, "failures": failures}))


def _merge(tally: dict[str, Any], into: Tally) -> None:
    for target, outcomes in tally["outcomes"].items():
        for outcome, count in outcomes.items():
            into.sent[target] += int(count)
            into.outcomes.setdefault(target, Counter())[outcome] += int(count)
    for name in _TIMES:
        for target, seconds in tally[name].items():
            getattr(into, name)[target] += seconds
