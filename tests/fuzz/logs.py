"""The host-log check: what a local host wrote while fuzzed holds no token and no traceback."""

from __future__ import annotations

import re
from pathlib import Path

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


def assert_log_clean(log: Path, start: int) -> None:
    """No token and no traceback in `log` after byte `start`."""
    with log.open("rb") as opened:
        opened.seek(start)
        text = opened.read().decode("utf-8", errors="replace")
    leaks = [line[:120] for line in text.splitlines() if _JWT.search(line)]
    assert not leaks, f"tokens in the host log: {leaks[:3]}"
    traces = [line for line in text.splitlines() if "Traceback" in line]
    assert not traces, f"{len(traces)} tracebacks in the host log, e.g.\n{_around(text)}"


def _around(text: str) -> str:
    index = text.index("Traceback")
    return text[max(0, index - 300):index + 1500]
