"""Watches the process that started the stack, because `make run` does not pass signals on."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

logger = logging.getLogger(__name__)

# GNU make sent SIGINT or SIGHUP by pid (as a process manager or a script does) signals none
# of its recipe's processes: it expects the terminal to have signalled the whole process group,
# and waits for the recipe inside its signal handler. SIGTERM it passes on, but to a recipe's
# shell only, and then exits. So the stack stops when its parent is gone (re-parented) or
# blocks a termination signal, which is what a parent inside that handler looks like (Linux
# shows it in /proc/<pid>/status; elsewhere only the parent's exit is seen).
TERMINATING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def blocked_signals(pid: int) -> set[signal.Signals]:
    """The signals process `pid` blocks now; empty when that cannot be read."""
    try:
        status = (Path("/proc") / str(pid) / "status").read_text()
    except OSError:
        return set()
    for line in status.splitlines():
        if line.startswith("SigBlk:"):
            mask = int(line.split()[1], 16)
            return {sig for sig in signal.Signals if mask & (1 << (sig.value - 1))}
    return set()


class ParentWatch:
    """Tells when the parent that started this process wants it to stop."""

    def __init__(self) -> None:
        self.pid = os.getppid()

    def stop_reason(self) -> str | None:
        """Why to stop now (parent exited or is handling a termination signal), else None."""
        if os.getppid() != self.pid:
            return f"parent process {self.pid} exited"
        handling = sorted(blocked_signals(self.pid) & set(TERMINATING))
        if handling:
            return f"parent process {self.pid} is handling {handling[0].name}"
        return None
