"""Throw-away function apps written into tmp dirs, and polling helpers for the host tests."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class AppFolder:
    """Builds a v1-model function app: host.json plus one folder per function."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.host_json()

    def host_json(self, **extensions: Any) -> None:
        body = {"version": "2.0", "extensions": extensions}
        (self.root / "host.json").write_text(json.dumps(body))

    def function(
        self,
        name: str,
        bindings: list[dict[str, Any]],
        code: str,
        *,
        script: str = "__init__.py",
        entry: str | None = None,
    ) -> Path:
        folder = self.root / name
        folder.mkdir()
        spec: dict[str, Any] = {"scriptFile": script, "bindings": bindings}
        if entry:
            spec["entryPoint"] = entry
        (folder / "function.json").write_text(json.dumps(spec))
        (folder / script).write_text(textwrap.dedent(code))
        if script != "__init__.py":
            (folder / "__init__.py").write_text("")
        return folder

    def http_function(
        self, name: str, code: str, *, route: str | None = None,
        methods: list[str] | None = None, auth: str = "anonymous",
        extra: list[dict[str, Any]] | None = None,
    ) -> Path:
        trigger: dict[str, Any] = {
            "type": "httpTrigger", "direction": "in", "name": "req", "authLevel": auth,
        }
        if route is not None:
            trigger["route"] = route
        if methods is not None:
            trigger["methods"] = methods
        bindings = [trigger, {"type": "http", "direction": "out", "name": "$return"}]
        return self.function(name, bindings + (extra or []), code)


def wait_for(probe: Callable[[], T | None], *, timeout: float = 20.0, what: str = "") -> T:
    """Poll `probe` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def read_records(path: Path) -> list[Mapping[str, Any]]:
    """JSON lines a test function appended to record its invocations."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
