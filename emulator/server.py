"""The HTTPS server: routing, body limits, fault injection, counters, auth and api-version
gates, and the guarantee that every failure leaves as a JSON error envelope."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import ssl
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulator import (
    admin,
    auth,
    chat,
    chat_auth,
    chat_messages,
    cors,
    identity,
    managed_identity,
    oidc,
    sms,
)
from emulator.context import Context
from emulator.web import AcsError, Request, Response, Route, status_code_name

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
# Oversized bodies up to this size are read and dropped so the client sees the 413 instead of
# a reset connection; anything bigger is cut off unread.
DRAIN_LIMIT = 16 * MAX_BODY
ROUTES: list[Route] = [*identity.ROUTES, *sms.ROUTES, *chat.ROUTES, *chat_messages.ROUTES,
                       *managed_identity.ROUTES, *oidc.ROUTES, *admin.ROUTES]
HANDSHAKE_TIMEOUT = 10.0


def _find_route(method: str, path: str) -> tuple[Route, dict[str, str]]:
    allowed = []
    for candidate in ROUTES:
        match = candidate.pattern.fullmatch(path)
        if match is None:
            continue
        if candidate.method == method:
            return candidate, match.groupdict()
        allowed.append(candidate.method)
    if allowed:
        raise AcsError(405, "MethodNotAllowed", f"{method} is not supported on {path}.",
                       headers={"Allow": ", ".join(sorted(set(allowed)))})
    raise AcsError(404, "NotFound", f"No resource at {path}.")


def _check_api_version(candidate: Route, query: dict[str, str]) -> None:
    version = query.get("api-version")
    if not version:
        raise AcsError(400, "ApiVersionUnspecified",
                       "An API version is required, but was not specified.")
    if version not in candidate.api_versions:
        raise AcsError(400, "InvalidApiVersion",
                       f"The HTTP resource does not support the API version '{version}'; "
                       f"supported: {', '.join(sorted(candidate.api_versions))}.")


def _fault_response(status: int, retry_after: int | None) -> AcsError:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return AcsError(status, status_code_name(status),
                    f"Fault injected by the emulator (status {status}).", headers=headers)


class RequestHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, so several requests may pass through."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's
    # delayed ACK stalls every response by ~40 ms.
    disable_nagle_algorithm = True
    server_version = "acs-emulator"
    sys_version = ""
    timeout = 120  # idle keep-alive connections give their thread back eventually
    server: EmulatorServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        try:
            response = self._handle()
        except AcsError as error:
            response = Response(error.status, error.envelope(), error.headers)
        except Exception:  # the promise: never a traceback to the client
            logger.exception("Unexpected failure handling %s %s", self.command,
                             urlsplit(self.path).path)
            response = Response(500, {"error": {"code": "InternalServerError",
                                                "message": "The emulator failed unexpectedly."}})
        self._send(response)

    def _content_length(self) -> int:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise AcsError(411, "LengthRequired", "Send the body with a Content-Length.")
        raw = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise AcsError(400, "BadRequest", "Content-Length is not a valid length.")
        return length

    def _drain(self, length: int) -> None:
        if length > DRAIN_LIMIT:
            return
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                return
            remaining -= len(chunk)

    def _handle(self) -> Response:
        ctx = self.server.context
        length = self._content_length()
        # Decide to read or refuse the body before anything else can answer, so a refused
        # request never leaves unread bytes on a keep-alive connection.
        if length > MAX_BODY:
            self.close_connection = True
            self._drain(length)
        body = b"" if length > MAX_BODY else self.rfile.read(length)
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if self.command == "OPTIONS":
            answer = cors.preflight(
                path, {name.lower(): value for name, value in self.headers.items()})
            if answer is not None:
                return answer
        candidate, params = _find_route(self.command, path)
        fault = None
        if candidate.operation:
            ctx.state.count(candidate.operation)
            fault = ctx.state.take_fault(candidate.operation)
            if fault is not None and not fault.after_handling:
                time.sleep(fault.latency_ms / 1000)
                if fault.status >= 400:
                    raise _fault_response(fault.status, fault.retry_after)
        if length > MAX_BODY:
            raise AcsError(413, "RequestEntityTooLarge",
                           f"The request body exceeds {MAX_BODY} bytes.")
        request = Request(
            method=self.command, target=self.path, path=path, query=query,
            headers={name.lower(): value for name, value in self.headers.items()}, body=body,
        )
        if candidate.api_versions:
            if candidate.user_token:
                request = dataclasses.replace(
                    request, principal=chat_auth.authenticate(ctx, request))
            else:
                auth.authenticate(ctx, request)
            _check_api_version(candidate, query)
        try:
            response = candidate.handler(ctx, request, params)
        finally:
            if fault is not None and fault.after_handling:
                time.sleep(fault.latency_ms / 1000)  # handled (or refused), answered late
        if fault is not None and fault.after_handling and fault.status >= 400:
            # The operation took effect, but its answer is replaced: a lost or garbled reply.
            raise _fault_response(fault.status, fault.retry_after)
        return response

    def _send(self, response: Response) -> None:
        payload = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        self.send_response(response.status)
        if response.body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("MS-CV", uuid.uuid4().hex)
        client_request_id = self.headers.get("x-ms-client-request-id")
        if client_request_id:
            self.send_header("x-ms-client-request-id", client_request_id)
        for name, value in response.headers.items():
            self.send_header(name, value)
        origin = self.headers.get("Origin")
        for name, value in cors.response_headers(urlsplit(getattr(self, "path", "")).path,
                                                 origin).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None
                   ) -> None:
        """Malformed request lines and headers get the JSON envelope too, not HTML."""
        self.close_connection = True
        if code == 501:  # an unknown method: refuse it as a client error, like ACS does
            code = 405
        if not hasattr(self, "headers"):
            self.headers = self.MessageClass()
        # A garbled request line leaves the version at HTTP/0.9, which would drop the status
        # line; answer in the version this server speaks.
        self.request_version = self.protocol_version
        try:
            self._send(Response(code, {"error": {"code": status_code_name(code),
                                                 "message": message or explain or ""}}))
        except OSError:
            logger.debug("Client went away before the error reply")

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines hold no secrets here (tokens travel in headers and bodies only).
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s - %s", self.address_string(), format % args)


class EmulatorServer(ThreadingHTTPServer):
    """Threaded server that does the TLS handshake in the worker thread, not in accept()."""

    daemon_threads = True
    block_on_close = False
    context: Context

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily,
                 ssl_context: ssl.SSLContext) -> None:
        self.address_family = family
        self.ssl_context = ssl_context
        super().__init__(address, RequestHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:
            logger.debug("TLS handshake failed from %s: %s", client_address, error)
            return
        try:
            RequestHandler(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Connection resets and timeouts are routine with keep-alive clients.
        logger.debug("Connection error from %s: %s", client_address, sys.exc_info()[1])
