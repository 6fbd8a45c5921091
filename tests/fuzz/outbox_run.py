"""A queue run (tests/fuzz/outbox.py for `sms-outbox`, tests/fuzz/events.py for
`identity-events`) in a process of its own (tests/fuzz/child.py), on a stack of its own,
alongside the HTTP runs. The trigger queues' names are fixed by the functions' bindings, so
two hosts with queue triggers on one Azurite would take each other's messages: the first queue
run uses the session's Azurite (the HTTP hosts have their queue triggers off), any other one
starts an Azurite of its own, and the queue runs go on side by side.
`python -m tests.fuzz.outbox_run SETTINGS RESULT`: SETTINGS names the queue, the web client's
origin, and Azurite's settings unless the run is to start its own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from devhost.services import start_azurite
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
    queue = settings["queue"]
    own = None if settings.get("azurite") else start_azurite(workdir=workdir / "azurite")
    azurite = settings["azurite"] if own is None else dict(own.settings)
    try:
        with outbox_stack(azurite, workdir, settings["cors_origin"]) as outbox:

            def run() -> None:
                if queue == "sms-outbox":
                    fuzz_outbox(outbox, current())
                else:
                    events = Outbox(outbox.queues, outbox.functions, outbox.emulator, queue)
                    effects = SideEffects(outbox.emulator, table_proxy_of(outbox.functions))
                    fuzz_events(events, effects, current())
                # The local host runs out of process: its log gets no token and no traceback.
                assert_log_clean(outbox.functions.log, 0)

            failures = run_and_report([(queue, run)])
    finally:
        if own is not None:
            own.stop()
    write_result(argv[1], failures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
