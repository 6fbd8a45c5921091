"""The queue runs (tests/fuzz/outbox.py, then tests/fuzz/events.py) in a process of their
own, started when the fuzz package starts: their message generation and queue polling then
take no interpreter time from the HTTP runs. `python -m tests.fuzz.outbox_run SETTINGS RESULT`
runs them and writes the tally and each run's failure (with hypothesis' report) to RESULT as
JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fuzz.effects import SideEffects
from tests.fuzz.events import fuzz_events
from tests.fuzz.logs import assert_log_clean
from tests.fuzz.outbox import Outbox, fuzz_outbox, outbox_stack
from tests.fuzz.probe import TALLY, Tally
from tests.fuzz.profiles import current

REPO_ROOT = Path(__file__).resolve().parents[2]


class OutboxRun:
    """The running child; `result` waits for it and adds its counts to this process's tally."""

    def __init__(self, azurite: dict[str, str], workdir: Path, cors_origin: str) -> None:
        self.workdir = workdir
        settings = workdir / "run.json"
        settings.write_text(json.dumps({"azurite": azurite, "cors_origin": cors_origin}))
        self.result_file = workdir / "result.json"
        self.log = workdir / "outbox-run.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.fuzz.outbox_run", str(settings),
                 str(self.result_file)],
                cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        self._merged = False

    def result(self, timeout: float, queue: str) -> None:
        """Wait; AssertionError with the child's report if `queue`'s run failed."""
        self.process.wait(timeout)
        log = self.log.read_text(errors="replace")[-3000:]
        assert self.result_file.exists(), f"the outbox run ended without a result:\n{log}"
        result = json.loads(self.result_file.read_text())
        if not self._merged:
            _merge(result["tally"], TALLY)
            self._merged = True
        assert queue in result["failures"], f"no {queue} run:\n{log}"
        assert result["failures"][queue] is None, result["failures"][queue]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _merge(tally: dict[str, Any], into: Tally) -> None:
    for target, outcomes in tally["outcomes"].items():
        for outcome, count in outcomes.items():
            into.sent[target] += int(count)
            into.outcomes.setdefault(target, type(into.sent)())[outcome] += int(count)
    for target, seconds in tally["seconds"].items():
        into.seconds[target] += seconds


def main(argv: list[str]) -> int:
    settings = json.loads(Path(argv[0]).read_text())
    workdir = Path(argv[0]).parent
    failures: dict[str, str | None] = {}
    with outbox_stack(settings["azurite"], workdir, settings["cors_origin"]) as outbox:
        events = Outbox(outbox.queues, outbox.functions, outbox.emulator, "identity-events")
        effects = SideEffects(outbox.emulator, settings["azurite"]["AZURITE_CONNECTION_STRING"],
                              [outbox.functions.settings["IDENTITY_TABLE_NAME"],
                               outbox.functions.settings["SMS_IDEMPOTENCY_TABLE_NAME"]])
        # One after the other: the events run's side-effect reads see only its messages.
        runs: list[tuple[str, Callable[[], None]]] = [
            ("sms-outbox", lambda: fuzz_outbox(outbox, current())),
            ("identity-events", lambda: fuzz_events(events, effects, current()))]
        for queue, run in runs:
            if queue not in current().queues:
                continue
            try:
                run()
                # The local host runs out of process: its log gets no token and no traceback.
                assert_log_clean(outbox.functions.log, 0)
                failures[queue] = None
            except Exception as error:  # noqa: BLE001 - any failure is the test's to report
                failures[queue] = "".join(traceback.format_exception(error))
    tally = {"outcomes": {k: dict(v) for k, v in TALLY.outcomes.items()},
             "seconds": dict(TALLY.seconds)}
    Path(argv[1]).write_text(json.dumps({"tally": tally, "failures": failures}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
