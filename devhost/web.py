"""The HTTP front of the local host: routes requests to HTTP-triggered functions.

Requests become `azure.functions.HttpRequest`; the function's `HttpResponse` goes back as
the worker hands it to the host (status, headers, content type from mimetype/charset, body).
"""

from __future__ import annotations

import hmac
import logging
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from devhost.cors import CorsPolicy
from devhost.invocation import RETURN, Invocable
from devhost.queues import QueueClients
from devhost.routes import Route

logger = logging.getLogger(__name__)

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_NEEDS_KEY = ("function", "admin", "system")


@dataclass(frozen=True)
class HttpFunction:
    """An HTTP-triggered function with its compiled route, methods and auth level."""

    function: Invocable | None
    name: str
    route: Route
    methods: frozenset[str]
    auth_level: str
    load_error: str | None = None

    @classmethod
    def from_function(cls, function: Invocable) -> HttpFunction:
        return cls.describe(function.spec.name, function.spec.trigger, function)

    @classmethod
    def describe(
        cls, name: str, trigger: Any, function: Invocable | None, load_error: str | None = None
    ) -> HttpFunction:
        methods = trigger.get("methods") or _METHODS
        return cls(
            function=function,
            name=name,
            route=Route(str(trigger.get("route") or name)),
            methods=frozenset(str(m).upper() for m in methods),
            # The binding's documented default is `function`.
            auth_level=str(trigger.get("authLevel", "function")).lower(),
            load_error=load_error,
        )


def _joined_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Request headers as the host passes them: a repeated header once, values joined by ", "
    (two Authorization headers are then one malformed one, never the last)."""
    joined: dict[str, tuple[str, str]] = {}
    for name, value in items:
        key = name.lower()
        joined[key] = (joined[key][0], f"{joined[key][1]}, {value}") if key in joined else (
            name, value)
    return dict(joined.values())


def _response_body(value: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    if isinstance(value, str):
        return 200, [("Content-Type", "text/plain; charset=utf-8")], value.encode("utf-8")
    if not isinstance(value, func.HttpResponse):
        raise TypeError(f"an HTTP function must return HttpResponse or str, not {type(value)}")
    headers = [(k, v) for k, v in value.headers.items()]
    if not any(k.lower() == "content-type" for k, _ in headers):
        mimetype = value.mimetype
        content_type = f"{mimetype}; charset={value.charset}" if mimetype.startswith(
            "text/") else mimetype
        headers.append(("Content-Type", content_type))
    return value.status_code, headers, value.get_body() or b""


BODY_TIMEOUT_SECONDS = 30


class _Handler(BaseHTTPRequestHandler):
    server: HttpFrontServer
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: the status line and headers go out in one write and the body in another;
    # with Nagle's algorithm the body then waits for the client's delayed ACK (40 ms on
    # Linux) on every answer of a kept-alive connection.
    disable_nagle_algorithm = True
    server_version = "devhost"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    # CORS headers for the response to the request being handled (set per request).
    cors_headers: Sequence[tuple[str, str]] = ()

    def _send(
        self, status: int, headers: Sequence[tuple[str, str]] = (), body: bytes = b""
    ) -> None:
        if self.cors_headers:
            # As ASP.NET Core's CORS middleware: the host's Access-Control-* values win.
            ours = {name.lower() for name, _ in self.cors_headers if name.lower() != "vary"}
            headers = [(n, v) for n, v in headers if n.lower() not in ours]
            headers = [*headers, *self.cors_headers]
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # Read to keep the connection usable, but, as the Functions host does for a body
            # without Content-Length, the function gets an empty body.
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass  # trailers
            return b""
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _authorized(self, target: HttpFunction, query: dict[str, str]) -> bool:
        if target.auth_level not in _NEEDS_KEY:
            return True
        given = self.headers.get("x-functions-key") or query.get("code") or ""
        return hmac.compare_digest(given.encode(), self.server.key.encode())

    def _handle(self) -> None:
        split = urlsplit(self.path)
        # Repeated query parameters reach the worker joined by commas, empty ones dropped,
        # as the host does.
        query: dict[str, str] = {}
        for name, value in parse_qsl(split.query):
            query[name] = f"{query[name]},{value}" if name in query else value
        # A client that announces a body and never sends it does not hold a thread forever
        # (Kestrel, in front of the real host, also gives up on a stalled request body).
        self.connection.settimeout(BODY_TIMEOUT_SECONDS)
        try:
            body = self._read_body()
        except TimeoutError:
            self.close_connection = True
            return
        except ValueError:
            # A Content-Length that is not a number, or a broken chunk size: the host (Kestrel)
            # answers 400 itself and drops the connection, whose framing is now unknown.
            self.cors_headers = ()
            self._send(400)
            self.close_connection = True
            return
        finally:
            self.connection.settimeout(None)
        lowered = {name.lower(): value for name, value in self.headers.items()}
        cors = self.server.cors
        self.cors_headers = ()
        if cors is not None:
            # The host answers preflights itself, before routing, as func start does.
            preflight = cors.preflight(lowered) if self.command == "OPTIONS" else None
            if preflight is not None:
                self.cors_headers = preflight
                self._send(204)
                return
            self.cors_headers = cors.response_headers(lowered)
        found = self.server.resolve(split.path)
        if found is None:
            self._send(404)
            return
        candidates, route_params = found
        target = next((c for c in candidates if self.command in c.methods), None)
        if target is None:
            allowed = sorted({m for c in candidates for m in c.methods})
            self._send(405, [("Allow", ", ".join(allowed))])
            return
        if not self._authorized(target, query):
            self._send(401)
            return
        request = func.HttpRequest(
            method=self.command,
            url=f"http://{self.headers.get('Host') or self.server.authority}{self.path}",
            headers=_joined_headers(self.headers.items()),
            params=query,
            route_params=route_params[target.name],
            body=body,
        )
        self._send(*self.server.call(target, request))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class HttpFrontServer(ThreadingHTTPServer):
    """Threaded server on loopback that dispatches to the app's HTTP functions."""

    daemon_threads = True
    # socketserver's default backlog (5) resets connections of a modest burst (20 clients).
    request_queue_size = 128

    def __init__(
        self, functions: Sequence[HttpFunction], *, route_prefix: str, key: str,
        outputs: QueueClients, host: str = "127.0.0.1", port: int = 0,
        cors: CorsPolicy | None = None,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.key = key
        self.cors = cors
        self.outputs = outputs
        self.prefix = f"/{route_prefix}" if route_prefix else ""
        # The Functions host tries routes in the order it registers functions, by name, with no
        # "literal segments first" precedence (azure-functions-host#3153, #9876): a parameter
        # route can shadow a literal one, so this stand-in does the same to show it locally.
        self.functions = sorted(functions, key=lambda f: f.name.lower())
        self._thread: threading.Thread | None = None

    @property
    def authority(self) -> str:
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def resolve(self, path: str) -> tuple[list[HttpFunction], dict[str, dict[str, str]]] | None:
        """Functions whose route matches, best first, and each one's route parameters."""
        if self.prefix:
            if path.lower() != self.prefix.lower() and not path.lower().startswith(
                self.prefix.lower() + "/"
            ):
                return None
            path = path[len(self.prefix):]
        matches: list[HttpFunction] = []
        params: dict[str, dict[str, str]] = {}
        for candidate in self.functions:
            values = candidate.route.match(path)
            if values is not None:
                matches.append(candidate)
                params[candidate.name] = values
        return (matches, params) if matches else None

    def call(
        self, target: HttpFunction, request: func.HttpRequest
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        invocation_id = str(uuid.uuid4())
        try:
            if target.function is None:
                raise RuntimeError(f"{target.name} did not load: {target.load_error}")
            outcome = target.function.invoke(request, invocation_id=invocation_id)
            self.outputs.write_outputs(target.function, outcome)
            output = next(
                (b["name"] for b in target.function.spec.outputs if b.get("type") == "http"),
                RETURN,
            )
            return _response_body(outcome.outputs[str(output)])
        except Exception:
            # As the Functions host does: a bare 500, the details only in the log.
            logger.exception("%s failed (Id=%s)", target.name, invocation_id)
            return 500, [], b""

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, name="devhost-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(10)
