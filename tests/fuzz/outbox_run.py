"""The queue runs (tests/fuzz/outbox.py, then tests/fuzz/events.py) in a process of their
own (tests/fuzz/child.py), started when the fuzz package starts, on a stack of their own.
`python -m tests.fuzz.outbox_run SETTINGS RESULT`: SETTINGS holds Azurite's settings and the
web client's origin.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from tests.fuzz.child import run_and_report, write_result
from tests.fuzz.effects import SideEffects
from tests.fuzz.events import fuzz_events
from tests.fuzz.logs import assert_log_clean
from tests.fuzz.outbox import Outbox, fuzz_outbox, outbox_stack
from tests.fuzz.profiles import current
from tests.fuzz.stacks import table_proxy_of


def main(argv: list[str]) -> int:
    settings = json.loads(Path(argv[0]).read_text())
    workdir = Path(argv[0]).parent
    with outbox_stack(settings["azurite"], workdir, settings["cors_origin"]) as outbox:
        events = Outbox(outbox.queues, outbox.functions, outbox.emulator, "identity-events")
        effects = SideEffects(outbox.emulator, table_proxy_of(outbox.functions))

        def checked(run: Callable[[], None]) -> Callable[[], None]:
            def run_then_check_log() -> None:
                run()
                # The local host runs out of process: its log gets no token and no traceback.
                assert_log_clean(outbox.functions.log, 0)
            return run_then_check_log

        # One after the other: the events run's side-effect reads see only its messages.
        runs: list[tuple[str, Callable[[], None]]] = [
            ("sms-outbox", checked(lambda: fuzz_outbox(outbox, current()))),
            ("identity-events", checked(lambda: fuzz_events(events, effects, current())))]
        failures = run_and_report([(queue, run) for queue, run in runs
                                   if queue in current().queues])
    write_result(argv[1], failures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
