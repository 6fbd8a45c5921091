"""The host's side of the real Python worker: one worker process per app, over FunctionRpc.

Starts `devhost.language_worker` under a Python that has azure-functions-runtime-v1
(3.13+), sends it init, metadata, load and invocation requests as the Functions host does,
and turns its answers back into the values the local host routes and stores.
"""

from __future__ import annotations

import datetime
import email.message
import importlib.util
import json
import logging
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost.app import FunctionSpec
from devhost.invocation import RETURN, Outcome
from devhost.language_worker import LOG_LEVELS_VARIABLE, read_frame, write_frame
from devhost.rpc import protos

logger = logging.getLogger(__name__)

WORKER_PACKAGE = "azure_functions_runtime_v1"
# Python levels for RpcLog.Level values (Trace 0 ... Critical 5).
_LEVELS = [logging.DEBUG, logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR,
           logging.CRITICAL]
_START_TIMEOUT = 120.0
INVOCATION_TIMEOUT = 600.0  # the host's default processing visibility for queue messages


class WorkerError(RuntimeError):
    """The worker reported a failure (load or invocation), with its message and stack."""


def local_worker_python() -> str | None:
    """This interpreter, if it can run the worker library (Python 3.13+ with it installed)."""
    if sys.version_info >= (3, 13) and importlib.util.find_spec(WORKER_PACKAGE) is not None:
        return sys.executable
    return None


def _failure(result: Any) -> str:
    exception = result.exception
    return f"{exception.message}\n{exception.stack_trace}".strip()


class Worker:
    """The host's side of one worker for one app root: init, metadata, load, invocation.

    Subclasses carry the messages: `WorkerProcess` over a pipe to a worker process (the local
    host), `devhost.inprocess.InProcessWorker` to the runtime in this process (tests).
    """

    root: Path

    def request(self, message: Any, timeout: float = INVOCATION_TIMEOUT) -> Any:
        """Send one request and wait for the response with the same request id."""
        raise NotImplementedError

    def initialize(self) -> None:
        """The host's first two requests: init (with the app root) and function metadata."""
        init = self.request(protos.StreamingMessage(worker_init_request=protos.WorkerInitRequest(
            host_version="devhost", function_app_directory=str(self.root),
        )), _START_TIMEOUT).worker_init_response
        if init.result.status != protos.StatusResult.Success:
            raise WorkerError(f"the worker did not start: {_failure(init.result)}")
        self.request(protos.StreamingMessage(
            functions_metadata_request=protos.FunctionsMetadataRequest(
                function_app_directory=str(self.root)),
        ), _START_TIMEOUT)
        logger.info(
            "Python worker: azure-functions-runtime-v1 %s on Python %s",
            init.worker_metadata.worker_version, init.worker_metadata.runtime_version,
        )

    def load(self, spec: FunctionSpec) -> WorkerFunction:
        """Load one function; WorkerError with the worker's own report if it refuses it."""
        function_id = str(uuid.uuid4())
        bindings = {
            str(b["name"]): protos.BindingInfo(
                type=str(b["type"]),
                direction=getattr(protos.BindingInfo, str(b["direction"]), 0),
                data_type=getattr(protos.BindingInfo, str(b.get("dataType", "undefined")), 0),
            )
            for b in spec.bindings
        }
        metadata = protos.RpcFunctionMetadata(
            name=spec.name, directory=str(spec.directory), script_file=str(spec.script_file),
            entry_point=spec.entry_point, bindings=bindings,
            raw_bindings=[json.dumps(b) for b in spec.bindings], function_id=function_id,
        )
        response = self.request(protos.StreamingMessage(function_load_request=(
            protos.FunctionLoadRequest(function_id=function_id, metadata=metadata)
        )), _START_TIMEOUT).function_load_response
        if response.result.status != protos.StatusResult.Success:
            raise WorkerError(_failure(response.result))
        return WorkerFunction(spec, function_id, self)


class WorkerProcess(Worker):
    """A running worker process for one app root; thread-safe request/response."""

    def __init__(self, python: str, root: Path, environment: Mapping[str, str]) -> None:
        self.python = python
        self.root = root
        self.environment = dict(environment)
        self._process: subprocess.Popen[bytes] | None = None
        self._pending: dict[str, Future[Any]] = {}
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._exited = False

    def start(self) -> None:
        package_root = str(Path(__file__).resolve().parents[1])
        levels = {"": logging.getLogger().getEffectiveLevel(),
                  "azure": logging.getLogger("azure").getEffectiveLevel()}
        environment = {**self.environment, "PYTHONPATH": package_root,
                       LOG_LEVELS_VARIABLE: json.dumps(levels)}
        # -P: the working directory (the app root) is not put first on sys.path.
        self._process = subprocess.Popen(
            [self.python, "-P", "-m", "devhost.language_worker"],
            cwd=self.root, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        self._reader = threading.Thread(target=self._read, name="devhost-worker", daemon=True)
        self._reader.start()
        self.initialize()

    def _read(self) -> None:
        assert self._process is not None
        stdout = self._process.stdout
        assert stdout is not None
        while (frame := read_frame(stdout)) is not None:
            message = protos.StreamingMessage.FromString(frame)
            if message.WhichOneof("content") == "rpc_log":
                log = message.rpc_log
                logging.getLogger(log.category or "worker").log(
                    _LEVELS[min(log.level, 5)], "%s", log.message)
                continue
            with self._lock:
                future = self._pending.pop(message.request_id, None)
            if future is not None:
                future.set_result(message)
        with self._lock:
            self._exited = True
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(WorkerError("the worker process exited"))

    def request(self, message: Any, timeout: float = INVOCATION_TIMEOUT) -> Any:
        if self._process is None or self._process.stdin is None:
            raise WorkerError("the worker process is not running")
        message.request_id = uuid.uuid4().hex
        future: Future[Any] = Future()
        with self._lock:
            if self._exited:
                raise WorkerError("the worker process exited")
            self._pending[message.request_id] = future
            try:
                write_frame(self._process.stdin, message.SerializeToString())
            except OSError as error:
                del self._pending[message.request_id]
                raise WorkerError("the worker process exited") from error
        return future.result(timeout)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if self._reader:
            self._reader.join(10)
        if process.stdout:
            process.stdout.close()


def _typed_data(value: Any) -> Any:
    if isinstance(value, bytes):
        return protos.TypedData(bytes=value)
    return protos.TypedData(string=str(value))


def _json_times(**times: datetime.datetime | None) -> dict[str, Any]:
    """Times as the host sends them (JSON strings); one a caller did not set is left out."""
    return {name: protos.TypedData(json=json.dumps(value.isoformat()))
            for name, value in times.items() if value is not None}


def _trigger_data(trigger: Any) -> tuple[Any, dict[str, Any]]:
    """The trigger as TypedData plus its trigger metadata, as the host sends them."""
    if isinstance(trigger, func.HttpRequest):
        http = protos.RpcHttp(
            method=trigger.method, url=trigger.url, headers=dict(trigger.headers),
            body=protos.TypedData(bytes=trigger.get_body()),
            params=dict(trigger.route_params), query=dict(trigger.params),
        )
        return protos.TypedData(http=http), {}
    if isinstance(trigger, func.QueueMessage):
        body = trigger.get_body()
        try:
            data = protos.TypedData(string=body.decode("utf-8"))
        except UnicodeDecodeError:
            data = protos.TypedData(bytes=body)
        metadata = {
            "Id": protos.TypedData(string=trigger.id or ""),
            "DequeueCount": protos.TypedData(json=str(trigger.dequeue_count or 1)),
            **_json_times(InsertionTime=trigger.insertion_time,
                          ExpirationTime=trigger.expiration_time,
                          NextVisibleTime=trigger.time_next_visible),
            "PopReceipt": protos.TypedData(string=trigger.pop_receipt or ""),
            "QueueTrigger": data,
        }
        return data, metadata
    raise TypeError(f"the local host has no trigger of type {type(trigger).__name__}")


def _cookie_header(cookie: Any) -> str:
    parts = [f"{cookie.name}={cookie.value}"]
    # The worker sends unset text attributes as empty strings; they are left out.
    if cookie.domain.value:
        parts.append(f"domain={cookie.domain.value}")
    if cookie.path.value:
        parts.append(f"path={cookie.path.value}")
    if cookie.HasField("max_age"):
        parts.append(f"max-age={int(cookie.max_age.value)}")
    if cookie.HasField("secure") and cookie.secure.value:
        parts.append("secure")
    if cookie.HasField("http_only") and cookie.http_only.value:
        parts.append("httponly")
    same_site = {1: "lax", 2: "strict", 3: "none"}.get(cookie.same_site)
    if same_site:
        parts.append(f"samesite={same_site}")
    return "; ".join(parts)


def _value(data: Any) -> Any:
    """A worker's TypedData as the host's bindings use it."""
    kind = data.WhichOneof("data")
    if kind == "http":
        http = data.http
        body = http.body.bytes if http.body.WhichOneof("data") == "bytes" else (
            http.body.string.encode("utf-8"))
        headers = dict(http.headers)
        # The media type travels as a header; the response object also states it on its own.
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        media = email.message.Message()
        media["Content-Type"] = content_type
        response = func.HttpResponse(
            body, status_code=int(http.status_code or 200), headers=headers,
            mimetype=media.get_content_type() if content_type else None,
            charset=str(media.get_param("charset") or "") or None,
        )
        for cookie in http.cookies:
            response.headers.add("Set-Cookie", _cookie_header(cookie))
        return response
    if kind == "json":
        # A JSON array is one queue message per item; objects are sent as their JSON text.
        parsed = json.loads(data.json)
        items = parsed if isinstance(parsed, list) else [parsed]
        return [item if isinstance(item, str) else json.dumps(item) for item in items]
    if kind in ("int", "double"):
        return str(getattr(data, kind))
    return getattr(data, kind) if kind else None


class WorkerFunction:
    """A function the worker loaded; `invoke` has the imitation's `Function.invoke` shape."""

    def __init__(self, spec: FunctionSpec, function_id: str, worker: Worker) -> None:
        self.spec = spec
        self.function_id = function_id
        self.worker = worker
        self.trigger_name = str(spec.trigger["name"])

    def invoke(self, trigger: Any, *, invocation_id: str | None = None) -> Outcome:
        """Run the function once in the worker; WorkerError carries the worker's report."""
        invocation_id = invocation_id or str(uuid.uuid4())
        data, metadata = _trigger_data(trigger)
        request = protos.InvocationRequest(
            invocation_id=invocation_id, function_id=self.function_id,
            trigger_metadata=metadata,
            trace_context=protos.RpcTraceContext(
                trace_parent=f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"),
        )
        request.input_data.add(name=self.trigger_name, data=data)
        logger.info("Executing 'Functions.%s' (Id=%s)", self.spec.name, invocation_id)
        response = self.worker.request(
            protos.StreamingMessage(invocation_request=request)).invocation_response
        if response.result.status != protos.StatusResult.Success:
            logger.error("Executed 'Functions.%s' (Failed, Id=%s)", self.spec.name, invocation_id)
            raise WorkerError(_failure(response.result))
        logger.info("Executed 'Functions.%s' (Succeeded, Id=%s)", self.spec.name, invocation_id)
        values = {item.name: _value(item.data) for item in response.output_data}
        values[RETURN] = _value(response.return_value) if response.HasField(
            "return_value") else None
        return Outcome(invocation_id=invocation_id, outputs=values)

