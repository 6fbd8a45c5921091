"""A lane of the HTTP fuzz run (tests/fuzz/campaign.py) in a process of its own
(tests/fuzz/child.py), on a stack of its own. `python -m tests.fuzz.lane_run SETTINGS RESULT`:
SETTINGS holds Azurite's settings, the web client's origin, the settings the host gets on top
of the app's, and the operation ids to fuzz.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from tests.fuzz.campaign import HttpRun, Lane
from tests.fuzz.child import run_and_report, write_result
from tests.fuzz.effects import SideEffects
from tests.fuzz.endpoints import endpoints, load_spec
from tests.fuzz.logs import assert_log_clean
from tests.fuzz.probe import Probe
from tests.fuzz.profiles import current
from tests.fuzz.stacks import own_stack, table_proxy_of
from tests.fuzz.tokens import for_endpoints


def main(argv: list[str]) -> int:
    settings = json.loads(Path(argv[0]).read_text())
    workdir = Path(argv[0]).parent
    spec = load_spec()
    selected = [e for e in endpoints(spec) if e.operation_id in settings["operations"]]
    with own_stack(settings["azurite"], workdir, settings["cors_origin"],
                   settings["extra"]) as (functions, emulator):
        probe = Probe(functions.url, spec, SideEffects(emulator, table_proxy_of(functions)))
        run = HttpRun(Lane(functions, probe, for_endpoints(emulator)), current(),
                      selected)
        run.finish()

        def outcome(operation_id: str) -> Callable[[], None]:
            def check() -> None:
                run.futures[operation_id].result()
                # The local host runs out of process: its log gets no token and no traceback.
                assert_log_clean(functions.log, 0)
            return check

        failures = run_and_report([(e.operation_id, outcome(e.operation_id)) for e in selected])
    write_result(argv[1], failures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
