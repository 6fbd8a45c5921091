"""azure-functions-runtime-v1 in this process, for the function-level tests (Python 3.13+).

The worker library's entry points take the same FunctionRpc messages as in Azure and run on an
event loop thread of their own; sync functions run on the library's own thread pool. The
worker loads each folder as `__app__.<Folder>` and binds the trigger from the message, so a test
calling `<Folder>.main` through `entry_point` meets the worker's binding, conversion and error
reporting, while sharing this process's settings, services and patches with the test.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devhost.app import FunctionSpec
from devhost.invocation import RETURN
from devhost.language_worker import RuntimeRequest, add_app_root, runtime_handlers
from devhost.rpc import protos
from devhost.worker import INVOCATION_TIMEOUT, Worker, WorkerError, WorkerFunction

_THREADS = "PYTHON_THREADPOOL_THREAD_COUNT"
_RAISED = re.compile(r"([A-Za-z_][\w.]*)(?::|$)")


class FunctionFailed(WorkerError):
    """The function raised; the worker reported `<Type>: <message>` and the stack trace."""

    def __init__(self, report: str) -> None:
        super().__init__(report)
        head = report.split("\n", 1)[0]
        self.exception_type, _, self.detail = head.partition(": ")
        # The trace's last line names the class with its module (`shared.errors.Conflict: ...`).
        matches = (_RAISED.match(line) for line in report.splitlines()[1:])
        named = [m.group(1) for m in matches
                 if m and m.group(1).rsplit(".", 1)[-1] == self.exception_type]
        self.qualified_type = named[-1] if named else self.exception_type

    def raised(self) -> type[BaseException] | None:
        """The class the function raised, if it can be imported here (it ran in this process)."""
        module, _, name = self.qualified_type.rpartition(".")
        try:
            found = getattr(importlib.import_module(module or "builtins"), name)
        except (ImportError, AttributeError):
            return None
        return found if isinstance(found, type) and issubclass(found, BaseException) else None


class InProcessWorker(Worker):
    """The worker library's handlers called directly, one app root per process (its state is
    global, as in Azure); thread-safe, so concurrent calls run as the worker runs them."""

    def __init__(self, root: Path, *, threads: int | None = None) -> None:
        self.root = root
        self.threads = threads
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runtime: Any = None
        self._handlers: dict[str, tuple[Callable[[Any], Any], str]] = {}

    def start(self) -> None:
        import azure_functions_runtime_v1 as runtime

        self._runtime = runtime
        self._handlers = runtime_handlers(runtime)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="devhost-inprocess",
                                        daemon=True)
        self._thread.start()
        # The library reads its pool size from this setting when the pool starts, as in Azure.
        saved = os.environ.get(_THREADS)
        if self.threads is not None:
            os.environ[_THREADS] = str(self.threads)
        try:
            runtime.start_threadpool_executor()
        finally:
            if saved is None:
                os.environ.pop(_THREADS, None)
            else:
                os.environ[_THREADS] = saved
        self.initialize()

    def request(self, message: Any, timeout: float = INVOCATION_TIMEOUT) -> Any:
        if self._loop is None:
            raise WorkerError("the in-process worker is not started")
        kind = message.WhichOneof("content")
        handler, reply = self._handlers[kind]
        add_app_root(message)
        request = RuntimeRequest(message, {"protos": protos, "host": "devhost"})
        response = asyncio.run_coroutine_threadsafe(handler(request), self._loop).result(timeout)
        return protos.StreamingMessage(request_id=message.request_id, **{reply: response})

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        self._runtime.stop_threadpool_executor()
        loop.call_soon_threadsafe(loop.stop)
        if self._thread:
            self._thread.join(10)
        loop.close()


def entry_point(function: WorkerFunction, original: Callable[..., Any]) -> Callable[..., Any]:
    """`main` with the folder's own parameters, run by the worker: the trigger goes in as the
    host sends it, output bindings come back into the `func.Out` arguments, the `$return` value
    is returned, and a raised exception comes back as `FunctionFailed` with the worker's report.
    `__wrapped__` is the folder's own `main` (`inspect.unwrap`), which the worker loaded too.
    """
    signature = inspect.signature(original)

    def main(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs).arguments
        trigger = bound.pop(function.trigger_name)
        for name, out in bound.items():
            if not callable(getattr(out, "set", None)):
                raise TypeError(f"{name} is not an output binding: the host passes only those")
        try:
            outcome = function.invoke(trigger)
        except WorkerError as error:
            raise FunctionFailed(str(error)) from None
        for name, out in bound.items():
            value = outcome.outputs.get(name)
            if value is not None:
                out.set(value)
        return outcome.outputs.get(RETURN)

    main.__signature__ = signature  # type: ignore[attr-defined]
    main.__wrapped__ = original  # type: ignore[attr-defined]
    return main


def load_entry_points(worker: Worker, specs: list[FunctionSpec],
                      originals: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Each spec loaded by the worker, as a `main` taking the same arguments as `originals`."""
    return {spec.name: entry_point(worker.load(spec), originals[spec.name]) for spec in specs}
