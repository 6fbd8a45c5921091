"""Calls a function's entry point with its bindings, as the Python worker binds them.

Parameters are matched to bindings by name: the trigger's `name`, a `func.Out` for each
output binding, `context` for the invocation context; `$return` is the return value.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import azure.functions as func
from azure.functions import _abc as func_abc

from devhost.app import AppError, FunctionSpec
from devhost.loader import load_entry_point
from devhost.signature import check_signature

logger = logging.getLogger(__name__)

RETURN = "$return"


class Output(func.Out[Any]):
    """The value a function sets on an output binding parameter."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


class _TraceContext(func_abc.TraceContext):
    def __init__(self) -> None:
        self._traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._traceparent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(func_abc.RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> func_abc.RpcException | None:  # type: ignore[override]
        # No retry policy runs here, so, as in the worker, there is no last exception.
        return None


class Context(func.Context):
    """The `context` parameter: invocation id, function name and directory."""

    def __init__(self, invocation_id: str, spec: FunctionSpec) -> None:
        self._invocation_id = invocation_id
        self._spec = spec
        self._local = threading.local()
        self._trace = _TraceContext()
        self._retry = _RetryContext()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def function_name(self) -> str:
        return self._spec.name

    @property
    def function_directory(self) -> str:
        return str(self._spec.directory)

    @property
    def thread_local_storage(self) -> type[threading.local]:
        # The abstract type says a class; the worker hands an instance, as this does.
        return self._local  # type: ignore[return-value]

    @property
    def trace_context(self) -> func_abc.TraceContext:
        return self._trace

    @property
    def retry_context(self) -> func_abc.RetryContext:
        return self._retry


@dataclass(frozen=True)
class Outcome:
    """What one successful invocation produced: output binding values, `$return` included."""

    invocation_id: str
    outputs: Mapping[str, Any]


class Invocable(Protocol):
    """What the host's triggers call: the imitation's `Function` or the worker's."""

    spec: FunctionSpec

    def invoke(self, trigger: Any, *, invocation_id: str | None = None) -> Outcome: ...


class Function:
    """A loaded function: its spec, entry point and the checked parameter names."""

    def __init__(self, spec: FunctionSpec, entry: Callable[..., Any]) -> None:
        self.spec = spec
        self.entry = entry
        self.trigger_name = str(spec.trigger["name"])
        self._check_parameters()
        self.signature = check_signature(spec, entry)
        self.has_return = any(b["name"] == RETURN for b in spec.bindings)
        self.trigger_annotation = typing.get_type_hints(entry).get(self.trigger_name)

    @classmethod
    def load(cls, spec: FunctionSpec, root: Path) -> Function:
        return cls(spec, load_entry_point(spec, root))

    def _check_parameters(self) -> None:
        unsupported = [
            str(b["name"]) for b in self.spec.bindings
            if b.get("direction") == "in" and b is not self.spec.trigger
        ]
        if unsupported:
            raise AppError(f"{self.spec.name}: input bindings are not supported: {unsupported}")

    def _convert_trigger(self, value: Any) -> Any:
        annotation = self.trigger_annotation
        if isinstance(value, func.QueueMessage) and annotation in (str, bytes):
            body = value.get_body()
            return body if annotation is bytes else body.decode("utf-8")
        return value

    def invoke(self, trigger: Any, *, invocation_id: str | None = None) -> Outcome:
        """Run the function once; exceptions propagate to the caller, which reports them."""
        invocation_id = invocation_id or str(uuid.uuid4())
        outputs = {str(b["name"]): Output() for b in self.spec.outputs if b["name"] != RETURN}
        kwargs: dict[str, Any] = {}
        for name in self.signature.parameters:
            if name == self.trigger_name:
                kwargs[name] = self._convert_trigger(trigger)
            elif name == "context":
                kwargs[name] = Context(invocation_id, self.spec)
            else:
                kwargs[name] = outputs[name]
        started = time.monotonic()
        logger.info("Executing 'Functions.%s' (Id=%s)", self.spec.name, invocation_id)
        try:
            result = self.entry(**kwargs)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            if result is not None and not self.has_return:
                # The worker fails such an invocation: the value would have nowhere to go.
                raise RuntimeError(f"{self.spec.name} has no $return binding but returned a value")
        except Exception:
            # The caller logs the exception itself, with what it does about it.
            logger.error(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)",
                self.spec.name, invocation_id, (time.monotonic() - started) * 1000,
            )
            raise
        logger.info(
            "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)",
            self.spec.name, invocation_id, (time.monotonic() - started) * 1000,
        )
        values: dict[str, Any] = {name: out.get() for name, out in outputs.items()}
        values[RETURN] = result
        return Outcome(invocation_id=invocation_id, outputs=values)
