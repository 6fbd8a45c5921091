"""The local host: loads a function app, serves its HTTP functions and polls its queues.

A local stand-in for the Azure Functions host (v1 Python model), not the host itself. On
Python 3.13+ functions are loaded and run by the real Python worker library in a worker
process; on older Pythons by an imitation. devhost/README.md says which parts are which.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from devhost.app import FunctionApp, FunctionSpec, is_disabled, load_app
from devhost.cors import CorsPolicy
from devhost.invocation import Function, Invocable
from devhost.loader import remove_from_path
from devhost.queues import QueueClients, QueueListener
from devhost.web import HttpFrontServer, HttpFunction
from devhost.worker import WorkerError, WorkerProcess, local_worker_python

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class LocalHost:
    """Runs one function app with the given app settings until `stop`."""

    def __init__(
        self,
        root: Path,
        settings: Mapping[str, str],
        *,
        port: int = 0,
        key: str | None = None,
        cors: CorsPolicy | None = None,
        worker_python: str | None = None,
        imitation: bool = False,
    ) -> None:
        """`worker_python`: a Python 3.13+ with azure-functions-runtime-v1 to run the worker
        (default: this one, if it can); `imitation`: use the imitation even so."""
        self.root = root.resolve()
        self.cors = cors
        self.settings = dict(settings)
        self.port = port
        self.key = key or secrets.token_urlsafe(32)
        self.app: FunctionApp | None = None
        self._saved_env: dict[str, str | None] = {}
        self._server: HttpFrontServer | None = None
        self._listeners: list[QueueListener] = []
        self._owns_path = False
        self.imitation = imitation
        self.worker_python = None if imitation else worker_python or local_worker_python()
        self._worker: WorkerProcess | None = None

    @property
    def url(self) -> str:
        """Base URL of the functions, e.g. http://127.0.0.1:7071."""
        if self._server is None:
            raise RuntimeError("the local host is not started")
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def _apply_settings(self) -> None:
        # Function code reads os.environ, as in Azure where app settings are env variables.
        self._saved_env = {name: os.environ.get(name) for name in self.settings}
        os.environ.update(self.settings)

    def _restore_settings(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}

    def start(self) -> None:
        self._apply_settings()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self._owns_path = str(self.root) not in sys.path
        self.app = app = load_app(self.root)
        environment = dict(os.environ)
        if self.worker_python:
            self._worker = WorkerProcess(self.worker_python, self.root, environment)
            self._worker.start()
        elif self.imitation:
            logger.info("functions run in the local imitation of the Python worker, as asked")
        else:
            logger.warning(
                "Python %d.%d: functions run in the local imitation of the Python worker (the "
                "real one, azure-functions-runtime-v1, needs Python 3.13+, requirements-dev.txt)",
                *sys.version_info[:2],
            )
        clients = QueueClients(environment, app.host.queues.message_encoding)
        http: list[HttpFunction] = []
        for spec in app.functions:
            if is_disabled(spec, environment):
                logger.info("%s is disabled", spec.name)
                continue
            kind = spec.trigger_type
            if kind not in ("httpTrigger", "queueTrigger"):
                logger.warning("%s: %s is not supported by the local host", spec.name, kind)
                continue
            if spec.error:
                # The host refuses such a function when indexing: it is never served.
                logger.error("The '%s' function is in error: %s", spec.name, spec.error)
                continue
            try:
                function = self._load(spec)
            except WorkerError as error:
                # As in Azure, one broken function does not stop the others; the worker's
                # report (message and stack trace) is what the host logs.
                logger.error("Worker failed to load function '%s': %s", spec.name, error)
                http.extend(self._broken(spec, str(error)))
                continue
            except Exception as error:
                logger.exception("%s failed to load", spec.name)
                http.extend(self._broken(spec, str(error)))
                continue
            if kind == "httpTrigger":
                http.append(HttpFunction.from_function(function))
            else:
                self._listeners.append(
                    QueueListener(function, clients=clients, options=app.host.queues)
                )
        self._server = HttpFrontServer(
            http, route_prefix=app.host.route_prefix, key=self.key, outputs=clients,
            host=LOOPBACK, port=self.port, cors=self.cors,
        )
        self._server.start()
        for listener in self._listeners:
            listener.start()
        logger.info("local host serving %s on %s", self.root.name, self.url)

    @staticmethod
    def _broken(spec: FunctionSpec, error: str) -> list[HttpFunction]:
        """A route that answers 500 for an HTTP function that did not load."""
        if spec.trigger_type != "httpTrigger":
            return []
        return [HttpFunction.describe(spec.name, spec.trigger, None, error)]

    def _load(self, spec: FunctionSpec) -> Invocable:
        if self._worker is not None:
            return self._worker.load(spec)
        return Function.load(spec, self.root)

    def describe(self) -> list[str]:
        """One line per function, like the list Core Tools prints at start."""
        if self._server is None or self.app is None:
            return []
        lines = []
        prefix = f"/{self.app.host.route_prefix}" if self.app.host.route_prefix else ""
        for item in self._server.functions:
            methods = ",".join(sorted(item.methods))
            route = f"/{item.route.template}" if item.route.template else ""
            lines.append(f"{item.name}: [{methods}] {self.url}{prefix}{route}")
        for listener in self._listeners:
            lines.append(f"{listener.function.spec.name}: queueTrigger {listener.queue.queue_name}")
        return lines

    def stop(self) -> None:
        for listener in self._listeners:
            listener.stop()
        self._listeners = []
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        self._restore_settings()
        if self._owns_path:
            remove_from_path(self.root)

    def __enter__(self) -> LocalHost:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
