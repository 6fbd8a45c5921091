"""The function app as the host sees it: host.json options and every `*/function.json`.

Reading only; importing the Python code is `devhost.loader`'s job.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# The host's rule for binding names; anything else puts the function in error at indexing.
_BINDING_NAME = re.compile(r"^([a-zA-Z][a-zA-Z0-9]{0,127}|\$return)$")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


class AppError(ValueError):
    """host.json or a function.json is unusable; the message names the file and the field."""


def parse_timespan(value: object, *, name: str) -> float:
    """Seconds from a .NET TimeSpan (`[d.]hh:mm:ss[.fff]`) or a number of milliseconds."""
    if isinstance(value, bool):
        raise AppError(f"host.json {name}: expected a TimeSpan such as 00:00:30")
    if isinstance(value, int | float):
        return float(value) / 1000.0
    match = _TIMESPAN.match(str(value))
    if not match:
        raise AppError(f"host.json {name}: {value!r} is not a TimeSpan such as 00:00:30")
    days, hours, minutes, seconds = match.groups()
    return ((int(days or 0) * 24 + int(hours)) * 60 + int(minutes)) * 60 + float(seconds)


@dataclass(frozen=True)
class QueueOptions:
    """host.json `extensions.queues`, with the Functions host's documented defaults."""

    message_encoding: str = "base64"
    batch_size: int = 16
    max_polling_interval: float = 60.0
    visibility_timeout: float = 0.0
    max_dequeue_count: int = 5

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> QueueOptions:
        encoding = str(raw.get("messageEncoding", "base64")).lower()
        if encoding not in ("base64", "none"):
            raise AppError("host.json extensions.queues.messageEncoding: use base64 or none")
        options = cls(
            message_encoding=encoding,
            batch_size=int(raw.get("batchSize", 16)),
            max_polling_interval=parse_timespan(
                raw.get("maxPollingInterval", "00:01:00"), name="maxPollingInterval"
            ),
            visibility_timeout=parse_timespan(
                raw.get("visibilityTimeout", "00:00:00"), name="visibilityTimeout"
            ),
            max_dequeue_count=int(raw.get("maxDequeueCount", 5)),
        )
        # The same bounds the Functions host enforces for these options.
        if not 1 <= options.batch_size <= 32:
            raise AppError("host.json extensions.queues.batchSize must be 1..32")
        if options.max_dequeue_count < 1:
            raise AppError("host.json extensions.queues.maxDequeueCount must be at least 1")
        if options.max_polling_interval < 0.1:
            raise AppError("host.json extensions.queues.maxPollingInterval must be >= 100 ms")
        return options


@dataclass(frozen=True)
class HostConfig:
    """The parts of host.json the local host honours."""

    route_prefix: str = "api"
    queues: QueueOptions = field(default_factory=QueueOptions)
    functions: tuple[str, ...] | None = None

    @classmethod
    def load(cls, root: Path) -> HostConfig:
        path = root / "host.json"
        raw = _read_json(path) if path.exists() else {}
        extensions = raw.get("extensions") or {}
        http = extensions.get("http") or {}
        selected = raw.get("functions")
        return cls(
            route_prefix=str(http.get("routePrefix", "api")).strip("/"),
            queues=QueueOptions.from_json(extensions.get("queues") or {}),
            functions=tuple(str(name) for name in selected) if selected is not None else None,
        )


@dataclass(frozen=True)
class FunctionSpec:
    """One function folder: where its code is and what its bindings say."""

    name: str
    directory: Path
    script_file: Path
    entry_point: str
    bindings: tuple[Mapping[str, Any], ...]
    disabled: bool = False
    error: str | None = None

    @property
    def trigger(self) -> Mapping[str, Any]:
        triggers = [b for b in self.bindings if str(b.get("type", "")).endswith("Trigger")]
        if len(triggers) != 1:
            raise AppError(f"{self.name}/function.json: expected exactly one trigger binding")
        return triggers[0]

    @property
    def trigger_type(self) -> str:
        return str(self.trigger["type"])

    @property
    def outputs(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(b for b in self.bindings if b.get("direction") == "out")


@dataclass(frozen=True)
class FunctionApp:
    root: Path
    host: HostConfig
    functions: tuple[FunctionSpec, ...]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as error:
        raise AppError(f"{path.name}: cannot read it: {error}") from error
    if not isinstance(data, dict):
        raise AppError(f"{path.name}: expected a JSON object")
    return data


def _load_function(directory: Path) -> FunctionSpec:
    raw = _read_json(directory / "function.json")
    bindings = raw.get("bindings")
    if not isinstance(bindings, list) or not all(isinstance(b, dict) for b in bindings):
        raise AppError(f"{directory.name}/function.json: `bindings` must be a list of objects")
    for binding in bindings:
        if not {"type", "direction", "name"} <= binding.keys():
            raise AppError(
                f"{directory.name}/function.json: every binding needs type, direction and name"
            )
    script = directory / str(raw.get("scriptFile", "__init__.py"))
    invalid = [str(b["name"]) for b in bindings if not _BINDING_NAME.fullmatch(str(b["name"]))]
    return FunctionSpec(
        name=directory.name,
        directory=directory,
        script_file=script.resolve(),
        entry_point=str(raw.get("entryPoint", "main")),
        bindings=tuple(bindings),
        disabled=bool(raw.get("disabled", False)),
        error=f"The binding name {invalid[0]} is invalid" if invalid else None,
    )


def is_disabled(spec: FunctionSpec, settings: Mapping[str, str]) -> bool:
    """function.json `disabled`, or the `AzureWebJobs.<name>.Disabled` app setting."""
    flag = settings.get(f"AzureWebJobs.{spec.name}.Disabled", "").strip().lower()
    return spec.disabled or flag in ("true", "1")


def load_app(root: Path) -> FunctionApp:
    """Read host.json and every immediate `<folder>/function.json` under `root`."""
    root = root.resolve()
    host = HostConfig.load(root)
    functions = []
    for path in sorted(root.glob("*/function.json")):
        if host.functions is not None and path.parent.name not in host.functions:
            continue
        functions.append(_load_function(path.parent))
    logger.debug("found %d functions under %s", len(functions), root)
    return FunctionApp(root=root, host=host, functions=tuple(functions))
