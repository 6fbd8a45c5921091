"""The one HTTP transport the service's Azure clients share: keep-alive connection pools sized
to the worker's threads, with trust and time-outs settled once at start.

azure-core takes any `HttpTransport`; its pipelines (retries, bearer tokens, tracing, logging)
and the Tables SDK run unchanged on top. The transport used here is `PooledTransport`, on
urllib3's connection pools, the library requests itself is built on. azure-core's requests
transport costs about 0.25 ms of CPU per call more (the same signed Table GET, measured on its
own): per call, requests merges session settings, prepares the request again, runs hooks and
copies cookies in and out of a cookie jar, none of which these calls use; a token request makes
two calls. `bench/token_bench.py` times and counts the CPU of the service on both transports
side by side.

Only when a proxy is configured is azure-core's requests transport used instead: requests
applies `HTTPS_PROXY`, `NO_PROXY` and their kin per URL as every Azure SDK user expects.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import certifi
import requests
import urllib3
from azure.core.configuration import ConnectionConfiguration
from azure.core.exceptions import (
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpTransport, RequestsTransport
from azure.core.rest import HttpRequest

# azure-core's own base for the responses of its transports (its requests and aiohttp
# transports and azure-core-experimental's httpx one subclass it): a response built on it
# behaves as azure-core's pipelines, the Tables SDK and `send_request` callers expect.
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.utils import case_insensitive_dict
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationValueError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import create_urllib3_context
from urllib3.util.retry import Retry

from shared.config.settings import ConfigurationError

logger = logging.getLogger(__name__)

# The Python worker runs sync functions on a thread pool of PYTHON_THREADPOOL_THREAD_COUNT
# threads; unset, Python's default for it is at most 32. One pooled connection per thread
# means no call ever discards a connection (and pays a new TLS handshake) under full load.
DEFAULT_POOL_SIZE = 32
MAX_POOL_SIZE = 256
# Distinct hosts kept pooled at once: ACS, the table endpoint, and a few spare.
POOLED_HOSTS = 8
# azure-core's own default per-attempt time-outs; callers pass their own per call or client.
DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT = 300.0, 300.0
# TCP keepalive on pooled connections, first probe after 2 minutes idle: Azure's outbound NAT
# forgets a flow idle for 4 minutes without telling either end, and a call sent on such a
# connection would wait out its whole read time-out (and an SMS send count as possibly sent).
KEEPALIVE_IDLE_SECONDS, KEEPALIVE_INTERVAL_SECONDS, KEEPALIVE_PROBES = 120, 30, 4


def keepalive_options() -> list[tuple[int, int, int]]:
    """urllib3's own socket options (no Nagle delay) and TCP keepalive, with its timing where
    the platform lets it be set (Linux names; macOS calls the idle time TCP_KEEPALIVE)."""
    options = [*HTTPConnection.default_socket_options,
               (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    idle = getattr(socket, "TCP_KEEPIDLE", None) or getattr(socket, "TCP_KEEPALIVE", None)
    for name, value in ((idle, KEEPALIVE_IDLE_SECONDS),
                        (getattr(socket, "TCP_KEEPINTVL", None), KEEPALIVE_INTERVAL_SECONDS),
                        (getattr(socket, "TCP_KEEPCNT", None), KEEPALIVE_PROBES)):
        if name is not None:
            options.append((socket.IPPROTO_TCP, name, value))
    return options


# What requests reads for proxies (either case); NO_PROXY alone configures none.
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                    "all_proxy")


def ca_bundle(environ: Mapping[str, str]) -> str | None:
    """The CA bundle override requests honours (a local CA in development), if any."""
    return environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or None


def pool_size(environ: Mapping[str, str]) -> int:
    raw = environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "").strip()
    try:
        threads = int(raw)
    except ValueError:
        return DEFAULT_POOL_SIZE
    return max(1, min(threads, MAX_POOL_SIZE))


def proxy_configured(environ: Mapping[str, str]) -> bool:
    return any(environ.get(name) for name in _PROXY_VARIABLES)


def build_transport(environ: Mapping[str, str] | None = None, *,
                    connection_timeout: float = DEFAULT_CONNECT_TIMEOUT,
                    read_timeout: float = DEFAULT_READ_TIMEOUT,
                    fan_out: int = 1) -> HttpTransport[Any, Any]:
    """A transport to share between the ACS pipeline and the Table clients (never closed: it
    lives as long as the worker process). The time-outs apply to calls that set none.

    `fan_out` is how many calls one invocation may have in flight at once (an SMS request's
    concurrent sends): the pool keeps a connection for each, on every worker thread, so a
    burst of such invocations discards none. Connections are opened only when needed.
    """
    env = os.environ if environ is None else environ
    # Trust is what requests would use: the override if set, else certifi's bundle.
    ca_file = ca_bundle(env) or certifi.where()
    size = min(pool_size(env) * max(1, fan_out), MAX_POOL_SIZE)
    if not proxy_configured(env):
        try:
            return PooledTransport(ca_file=ca_file, pool_size=size,
                                   connection_timeout=connection_timeout,
                                   read_timeout=read_timeout)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                "REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE): the CA bundle could not be read "
                f"({type(exc).__name__}); point it at a PEM file or unset it") from exc
    logger.info("A proxy is configured: HTTP settings are read from the environment per call")
    session = requests.Session()
    # azure-core's own retry policies retry; the adapter must not retry underneath them.
    adapter = HTTPAdapter(pool_connections=POOLED_HOSTS, pool_maxsize=size,
                          max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    proxied: HttpTransport[Any, Any] = RequestsTransport(
        session=session, session_owner=False, connection_verify=ca_file,
        connection_timeout=connection_timeout, read_timeout=read_timeout)
    return proxied


# Called in the sending thread once a request has left whole (head and body written), when set
# in that thread's context: a caller that hands a call to another thread can wait for it to be
# on the wire before taking the interpreter lock for other work (shared/sms/service.py).
request_written: ContextVar[Callable[[], None] | None] = ContextVar("request_written",
                                                                     default=None)


class _OneWrite(HTTPConnection):
    """Sends a request's head and body in one write. http.client writes the head, then urllib3
    the body: two TLS records and two system calls per request with a body. Worse, between the
    two the interpreter lock is free: another thread of the function may take it and run for
    milliseconds while the server, head in hand, waits for the body (an SMS send's next page
    being prepared, for one). Once the request has left, `request_written` is called."""

    _holding = False
    _head: bytes | None = None

    def request(self, method: str, url: str, body: Any = None,  # type: ignore[override]
                headers: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        self._holding = isinstance(body, bytes) and len(body) > 0
        try:
            super().request(method, url, body=body, headers=headers, **kwargs)
            unsent = self._head
        finally:
            self._holding, self._head = False, None
        if unsent is not None:  # no body write came after all
            super().send(unsent)
        written = request_written.get()
        if written is not None:
            written()

    def send(self, data: Any) -> None:
        if self._holding:
            if self._head is None:
                self._head = bytes(data)
                return
            data, self._head, self._holding = self._head + bytes(data), None, False
        super().send(data)


class _OneWriteTls(_OneWrite, HTTPSConnection):
    pass


class _HttpPool(HTTPConnectionPool):
    ConnectionCls = _OneWrite


class _HttpsPool(HTTPSConnectionPool):
    ConnectionCls = _OneWriteTls


class PooledResponse(HttpResponseImpl):
    """An answer whose body has been read off the connection in full, so the connection is back
    in its pool at once. These calls' bodies are small JSON or multipart documents; a call that
    asks to stream (the Tables SDK's transactions do) reads it from this buffer."""

    def __init__(self, request: HttpRequest, answer: urllib3.BaseHTTPResponse) -> None:
        super().__init__(
            request=request, internal_response=answer, status_code=answer.status,
            # A repeated header is one entry, its values joined, as requests gives it.
            reason=answer.reason or "", headers=case_insensitive_dict(answer.headers.itermerged()),
            content_type=answer.headers.get("Content-Type"),
            stream_download_generator=_buffered_chunks)
        self.buffered: bytes = answer.data

    def read_buffered(self) -> None:
        """What azure-core does to an answer not streamed: read it (here, without a copy)."""
        self._content = self.buffered
        self._is_stream_consumed = True
        self._is_closed = True


def _buffered_chunks(pipeline: object = None, response: PooledResponse | None = None,
                     **kwargs: Any) -> Iterator[bytes]:
    """The stream download generator, called as azure-core calls its own (`pipeline`,
    `response`, `decompress`): the buffered body in block-size chunks. urllib3 has decoded
    it already, which only a compressed answer would show, and none is asked for (urllib3
    sends `Accept-Encoding: identity`)."""
    if response is None:
        raise TypeError("the response to stream is required")
    size = response._block_size
    for start in range(0, len(response.buffered), size):
        yield response.buffered[start:start + size]


class PooledTransport(HttpTransport[HttpRequest, PooledResponse]):
    """An azure-core transport on a urllib3 `PoolManager`: TLS verified against one CA bundle,
    no redirects followed, no retries of its own (azure-core's retry policy decides), no
    proxy (see `build_transport`).

    Failures map onto azure-core's errors as its requests transport maps them, with one rule
    for anything ambiguous: only a failure certainly before the request left is a
    `ServiceRequestError` ("not sent"); everything else is a `ServiceResponseError` ("sent,
    answer lost"), which the ACS client treats as possibly acted on.
    """

    def __init__(self, *, ca_file: str, pool_size: int = DEFAULT_POOL_SIZE,
                 connection_timeout: float = DEFAULT_CONNECT_TIMEOUT,
                 read_timeout: float = DEFAULT_READ_TIMEOUT) -> None:
        # azure-core's retry policy reads the connect time-out here to clamp it to its own.
        self.connection_config = ConnectionConfiguration(
            connection_timeout=connection_timeout, read_timeout=read_timeout,
            connection_verify=ca_file)
        self.ca_file = ca_file
        # One TLS context, its CA bundle read once: new connections do not read it again.
        # urllib3's own (what requests gets too): certificates and host names verified,
        # TLS 1.2 or later.
        self.tls = create_urllib3_context()
        self.tls.load_verify_locations(cafile=ca_file)
        self.pools = urllib3.PoolManager(
            num_pools=POOLED_HOSTS, maxsize=pool_size, block=False, ssl_context=self.tls,
            retries=False, socket_options=keepalive_options())
        self.pools.pool_classes_by_scheme = {"http": _HttpPool, "https": _HttpsPool}

    def __enter__(self) -> PooledTransport:
        return self

    def __exit__(self, *args: object) -> None:
        pass  # shared by every client of the process: never closed by one of them

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, request: HttpRequest, **kwargs: Any) -> PooledResponse:
        stream = bool(kwargs.pop("stream", False))
        timeout = self._timeout(kwargs)
        if not isinstance(request, HttpRequest):
            raise TypeError("PooledTransport sends azure.core.rest.HttpRequest only")
        body = _body(request)
        # As requests does, a header set to None is not sent.
        headers = {name: value for name, value in request.headers.items() if value is not None}
        if body is not None:
            # azure-core counts a str body's characters; what is sent is its UTF-8 bytes.
            for name in [name for name in headers if name.lower() == "content-length"]:
                del headers[name]
            headers["Content-Length"] = str(len(body))
        try:
            answer = self.pools.urlopen(
                request.method, request.url, body=body, headers=headers, timeout=timeout,
                redirect=False, retries=False, preload_content=True, decode_content=True)
        except (NewConnectionError, LocationValueError) as exc:
            # Refused, unresolvable or not a URL: nothing was sent. (urllib3's
            # NewConnectionError subclasses ConnectTimeoutError, so it is caught first.)
            raise ServiceRequestError(exc, error=exc) from exc
        except ConnectTimeoutError as exc:
            raise ServiceRequestTimeoutError(exc, error=exc) from exc
        except SSLError as exc:
            # A certificate refused is a handshake failure (nothing sent); any other TLS
            # failure may have come after the request was written.
            if isinstance(exc.__context__, ssl.SSLCertVerificationError) or isinstance(
                    exc.args[0] if exc.args else None, ssl.SSLCertVerificationError):
                raise ServiceRequestError(exc, error=exc) from exc
            raise ServiceResponseError(exc, error=exc) from exc
        except ReadTimeoutError as exc:
            raise ServiceResponseTimeoutError(exc, error=exc) from exc
        except HTTPError as exc:
            # Connection dropped, answer cut short or malformed: it may have been acted on.
            raise ServiceResponseError(exc, error=exc) from exc
        response = PooledResponse(request, answer)
        if not stream:
            response.read_buffered()
        return response

    def _timeout(self, options: dict[str, Any]) -> urllib3.Timeout:
        """The per-call options azure-core passes on; refuses any this transport cannot honour
        rather than ignoring it (as azure-core's requests transport refuses unknown ones)."""
        connect = options.pop("connection_timeout", self.connection_config.timeout)
        read = options.pop("read_timeout", self.connection_config.read_timeout)
        if options.pop("proxies", None):
            raise ValueError("PooledTransport uses no proxy; build_transport chooses one "
                             "that does when a proxy is configured")
        if options.pop("connection_verify", True) not in (True, self.ca_file):
            raise ValueError("PooledTransport verifies against the CA bundle it was built with")
        if options.pop("connection_cert", None) is not None:
            raise ValueError("PooledTransport sends no client certificate")
        if options:
            raise TypeError(f"PooledTransport got unexpected options: {sorted(options)}")
        if isinstance(connect, tuple):
            raise ValueError("connection_timeout must be a number of seconds")
        return urllib3.Timeout(connect=connect, read=read)


def _body(request: HttpRequest) -> bytes | None:
    content = request.content
    if content is None:
        return None
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    raise TypeError("PooledTransport sends str or bytes bodies only (no forms, files or streams)")
