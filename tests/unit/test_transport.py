"""The shared transport: azure-core's contract kept on urllib3's pools, against real sockets.

Every failure a server or network can cause maps onto azure-core's "not sent" or "sent, answer
lost" errors, because the ACS client's retries and its "may have reached ACS" record depend on
which it is; connections are kept alive and pooled per worker thread; the proxy case falls
back to azure-core's requests transport.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import certifi
import pytest
from azure.core import PipelineClient
from azure.core.exceptions import (
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpRequest as LegacyRequest
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from requests.adapters import HTTPAdapter

from emulator.tls import TlsFiles, create_tls_files, server_context
from shared.clients.transport import (
    DEFAULT_POOL_SIZE,
    MAX_POOL_SIZE,
    PooledTransport,
    build_transport,
    pool_size,
    request_written,
)
from shared.config.settings import ConfigurationError
from tests.unit.wire import Cut, Received, WireServer, answer


def _server(wire_servers: list[WireServer], behaviour: object, **kwargs: object) -> WireServer:
    server = WireServer(behaviour, **kwargs)  # type: ignore[arg-type]
    wire_servers.append(server)
    return server


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return create_tls_files(tmp_path_factory.mktemp("tls"))


_built: list[PooledTransport] = []


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    while _built:
        _built.pop().pools.clear()


def _transport(**kwargs: object) -> PooledTransport:
    options: dict[str, object] = {"ca_file": certifi.where(), "connection_timeout": 2,
                                  "read_timeout": 2, **kwargs}
    transport = PooledTransport(**options)  # type: ignore[arg-type]
    _built.append(transport)
    return transport


def _ok(_: Received) -> bytes:
    return answer(200, b'{"value": 1}', headers={"x-ms-request-id": "abc"})


# --- what is sent and what comes back ---------------------------------------------------

def test_json_body_sent_as_utf8_and_answer_read(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, _ok)
    request = HttpRequest("POST", f"{server.url}/identities?api-version=1",
                          json={"name": "Zoë"}, headers={"X-Custom": "1"})

    response = _transport().send(request)

    assert response.status_code == 200
    assert response.json() == {"value": 1}
    assert response.headers["X-MS-REQUEST-ID"] == "abc"  # case-insensitive, as azure-core's
    (seen,) = server.received
    assert (seen.method, seen.target) == ("POST", "/identities?api-version=1")
    assert seen.body == b'{"name": "Zo\\u00eb"}'  # json= escapes; a str body is UTF-8:
    assert seen.headers["content-length"] == str(len(seen.body))
    assert seen.headers["x-custom"] == "1"


def test_str_body_sent_as_utf8(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, _ok)

    _transport().send(HttpRequest("PUT", f"{server.url}/e", content='{"name": "Zoë"}'))

    (seen,) = server.received
    assert seen.body == '{"name": "Zoë"}'.encode()
    assert seen.headers["content-length"] == str(len(seen.body)) == "16"


def test_post_without_body_sends_zero_length(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, _ok)

    _transport().send(HttpRequest("POST", f"{server.url}/revoke"))

    (seen,) = server.received
    assert seen.headers["content-length"] == "0" and seen.body == b""


def test_header_set_to_none_not_sent(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, _ok)
    request = HttpRequest("GET", f"{server.url}/e", headers={"X-Empty": "x", "X-Keep": "1"})
    request.headers["X-Empty"] = None  # type: ignore[assignment]

    _transport().send(request)

    (seen,) = server.received
    assert "x-empty" not in seen.headers and seen.headers["x-keep"] == "1"


def test_repeated_answer_header_is_one_entry(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, lambda _: answer(200, b"{}", headers={"X-Multi": "1"})
                     .replace(b"X-Multi: 1", b"X-Multi: 1\r\nX-Multi: 2"))

    response = _transport().send(HttpRequest("GET", f"{server.url}/e"))

    assert response.headers["x-multi"] == "1, 2"
    assert [name for name, _ in response.headers.items()].count("X-Multi") == 1


def test_redirect_returned_not_followed(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, lambda _: answer(302, b"", headers={"Location": "http://x/"}))

    response = _transport().send(HttpRequest("GET", f"{server.url}/a"))

    assert response.status_code == 302
    assert len(server.received) == 1


def test_streamed_answer_read_from_buffer(wire_servers: list[WireServer]) -> None:
    """The Tables SDK sends its transactions with stream=True and reads the parts after."""
    body = b"x" * 10_000
    server = _server(wire_servers, lambda _: answer(202, body))

    response = _transport().send(HttpRequest("GET", f"{server.url}/batch"), stream=True)

    unread = not response.is_stream_consumed
    assert b"".join(response.iter_bytes()) == body
    assert unread and response.is_stream_consumed
    again = _transport().send(HttpRequest("GET", f"{server.url}/batch"), stream=True)
    # azure-core's older streaming call passes its generator's arguments by position.
    assert b"".join(again.stream_download(None)) == body


def test_keep_alive_one_connection_for_sequential_calls(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, _ok)
    transport = _transport()

    for _ in range(20):
        transport.send(HttpRequest("GET", f"{server.url}/e"))

    assert server.connections == 1


def test_pooled_connections_keep_tcp_keepalive_and_no_delay(wire_servers: list[WireServer]) -> None:
    """Azure's outbound NAT forgets a flow idle for 4 minutes: keepalive probes come sooner."""
    import socket

    server = _server(wire_servers, _ok)
    transport = _transport()

    sock = _opened_connection(transport, server).sock
    assert sock is not None
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 120  # Linux
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 30
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 4


def _opened_connection(transport: PooledTransport, server: WireServer) -> Any:
    """The kept-alive connection to `server` after one call, as its pool holds it."""
    transport.send(HttpRequest("GET", f"{server.url}/open"))
    pool = transport.pools.connection_from_url(server.url).pool
    assert pool is not None
    (connection,) = list(pool.queue)[-1:]
    return connection


def _record_writes(transport: PooledTransport, server: WireServer) -> _Writes:
    """The writes each later call on the kept-alive connection to `server` makes."""
    connection = _opened_connection(transport, server)
    writes = _Writes(connection.sock)
    connection.sock = writes
    return writes


class _Writes:
    """A connected socket that records each write the connection makes on it."""

    def __init__(self, sock: object) -> None:
        self.sock = sock
        self.writes: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.sock.sendall(data)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.sock, name)


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("body", [b'{"to": ["+14255550123"]}', b"x" * 70_000, b"", None],
                         ids=["json", "large", "empty", "none"])
def test_request_head_and_body_leave_in_one_write(
    wire_servers: list[WireServer], tls_files: TlsFiles, tls: bool, body: bytes | None,
) -> None:
    """One write per request: between two, another thread may hold the interpreter lock for
    milliseconds while the server waits for the body."""
    server = _server(wire_servers, _ok, tls=server_context(tls_files) if tls else None)
    transport = _transport(ca_file=str(tls_files.ca_path)) if tls else _transport()
    writes = _record_writes(transport, server)

    transport.send(HttpRequest("POST", f"{server.url}/sms", content=body))
    transport.send(HttpRequest("GET", f"{server.url}/after"))

    assert len(writes.writes) == 2
    assert writes.writes[0].startswith(b"POST /sms HTTP/1.1\r\n")
    assert writes.writes[0].endswith(b"\r\n\r\n" + (body or b""))
    assert writes.writes[1].startswith(b"GET /after ")
    assert [seen.body for seen in server.received[1:]] == [body or b"", b""]


def test_request_written_is_called_once_the_request_has_left(
        wire_servers: list[WireServer]) -> None:
    """What lets an SMS send's next page wait until the call before it is on the wire."""
    server = _server(wire_servers, _ok)
    transport = _transport()
    writes = _record_writes(transport, server)
    written_after: list[int] = []

    token = request_written.set(lambda: written_after.append(len(writes.writes)))
    try:
        transport.send(HttpRequest("POST", f"{server.url}/sms", content=b'{"to": []}'))
    finally:
        request_written.reset(token)
    transport.send(HttpRequest("GET", f"{server.url}/after"))  # outside that context

    assert written_after == [1]  # once, after the request's one write
    assert len(writes.writes) == 2


def test_a_request_refused_before_its_head_leaves_sends_nothing(
    wire_servers: list[WireServer],
) -> None:
    server = _server(wire_servers, _ok)
    transport = _transport()
    transport.send(HttpRequest("GET", f"{server.url}/open"))

    with pytest.raises(ValueError):
        transport.send(HttpRequest("POST", f"{server.url}/e", content=b"{}",
                                   headers={"X-Bad": "line\r\nbreak"}))
    transport.send(HttpRequest("POST", f"{server.url}/next", content=b"{}"))

    assert [(seen.target, seen.body) for seen in server.received] == [
        ("/open", b""), ("/next", b"{}")]


def test_concurrent_calls_up_to_pool_size_discard_nothing(
    wire_servers: list[WireServer], caplog: pytest.LogCaptureFixture,
) -> None:
    server = _server(wire_servers, _ok)
    transport = _transport(pool_size=16)
    barrier = threading.Barrier(16)
    failures: list[BaseException] = []

    def calls() -> None:
        barrier.wait()
        try:
            for _ in range(10):
                transport.send(HttpRequest("GET", f"{server.url}/e"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
        workers = [threading.Thread(target=calls) for _ in range(16)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    assert failures == []
    assert len(server.received) == 160
    assert server.connections <= 16
    assert not [r for r in caplog.records if "discarding connection" in r.getMessage()]


def test_through_an_azure_core_pipeline(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, _ok)
    client: PipelineClient[HttpRequest, object] = PipelineClient(server.url,
                                                                 transport=_transport())

    response = client.send_request(HttpRequest("GET", f"{server.url}/p"))

    assert response.json() == {"value": 1}  # type: ignore[attr-defined]


# --- failures: not sent, or sent with the answer lost ------------------------------------

def test_refused_connection_is_not_sent() -> None:
    import socket

    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        with pytest.raises(ServiceRequestError) as raised:
            _transport().send(HttpRequest("GET", f"http://127.0.0.1:{port}/e"))

    assert type(raised.value) is ServiceRequestError  # refused: not a time-out


def test_not_a_url_is_not_sent() -> None:
    with pytest.raises(ServiceRequestError) as raised:
        _transport().send(HttpRequest("GET", "http:///no-host"))

    assert type(raised.value) is ServiceRequestError


def test_untrusted_certificate_is_not_sent(
        wire_servers: list[WireServer], tls_files: TlsFiles) -> None:
    server = _server(wire_servers, _ok, tls=server_context(tls_files))

    with pytest.raises(ServiceRequestError):
        _transport().send(HttpRequest("GET", f"{server.url}/e"))  # trusts certifi only

    assert server.received == []


def test_certificate_for_another_host_is_not_sent(wire_servers: list[WireServer],
                                                  tls_files: TlsFiles) -> None:
    """The CA is trusted, but its certificate names 127.0.0.1, localhost and ::1 only."""
    server = _server(wire_servers, _ok, tls=server_context(tls_files), host="127.0.0.2")

    with pytest.raises(ServiceRequestError):
        _transport(ca_file=str(tls_files.ca_path)).send(HttpRequest("GET", f"{server.url}/e"))

    assert server.received == []


def test_trusted_certificate_answers(wire_servers: list[WireServer], tls_files: TlsFiles) -> None:
    server = _server(wire_servers, _ok, tls=server_context(tls_files))

    response = _transport(ca_file=str(tls_files.ca_path)).send(
        HttpRequest("GET", f"{server.url}/e"))

    assert response.status_code == 200


def test_silent_server_read_timeout_is_answer_lost(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, lambda _: b"", hold_seconds=3)

    with pytest.raises(ServiceResponseTimeoutError):
        _transport().send(HttpRequest("POST", f"{server.url}/e"), read_timeout=0.3)

    assert server.wait_received(1) == 1  # it was sent


def test_default_read_timeout_applies_when_call_sets_none(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, lambda _: b"", hold_seconds=3)

    with pytest.raises(ServiceResponseTimeoutError):
        _transport(read_timeout=0.3).send(HttpRequest("GET", f"{server.url}/e"))


def test_connection_closed_without_answer_is_answer_lost(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, lambda _: None)

    with pytest.raises(ServiceResponseError) as raised:
        _transport().send(HttpRequest("POST", f"{server.url}/e", json={}))

    assert not isinstance(raised.value, ServiceRequestError)
    assert server.wait_received(1) == 1


def test_answer_cut_short_then_silent_is_answer_lost(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, lambda _: answer(200, b'{"val', length=100))

    with pytest.raises(ServiceResponseError):
        _transport(read_timeout=0.3).send(HttpRequest("GET", f"{server.url}/e"))


def test_answer_cut_short_by_close_is_answer_lost(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, lambda _: Cut(answer(200, b'{"val', length=100)))

    with pytest.raises(ServiceResponseError) as raised:
        _transport().send(HttpRequest("GET", f"{server.url}/e"))

    assert not isinstance(raised.value, ServiceResponseTimeoutError)


# --- options it cannot honour are refused, not ignored ------------------------------------

@pytest.mark.parametrize(("option", "value", "error"), [
    ("proxies", {"https": "http://proxy.example:3128"}, ValueError),
    ("connection_cert", "/client.pem", ValueError),
    ("connection_verify", False, ValueError),
    ("connection_verify", "/other-ca.pem", ValueError),
    ("unknown_option", 1, TypeError),
    ("connection_timeout", (1, 2), ValueError),
])
def test_unsupported_options_refused(wire_servers: list[WireServer], option: str, value: object,
                                     error: type[Exception]) -> None:
    server = _server(wire_servers, _ok)

    with pytest.raises(error):
        _transport().send(HttpRequest("GET", f"{server.url}/e"), **{option: value})

    assert server.received == []


def test_legacy_request_type_refused(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, _ok)

    with pytest.raises(TypeError):
        _transport().send(LegacyRequest("GET", f"{server.url}/e"))  # type: ignore[arg-type]


def test_form_bodies_refused(wire_servers: list[WireServer]) -> None:
    server = _server(wire_servers, _ok)

    with pytest.raises(TypeError):
        _transport().send(HttpRequest("POST", f"{server.url}/e", data={"a": "b"}))

    assert server.received == []


# --- how the process builds it ------------------------------------------------------------

@pytest.mark.parametrize(("raw", "size"), [
    (None, DEFAULT_POOL_SIZE), ("", DEFAULT_POOL_SIZE), ("x", DEFAULT_POOL_SIZE), ("8", 8),
    ("0", 1), ("100000", MAX_POOL_SIZE),
])
def test_pool_size_follows_worker_threads(raw: str | None, size: int) -> None:
    env = {} if raw is None else {"PYTHON_THREADPOOL_THREAD_COUNT": raw}

    assert pool_size(env) == size


def test_build_transport_without_proxy_pools_per_worker_thread(tls_files: TlsFiles) -> None:
    transport = build_transport({"PYTHON_THREADPOOL_THREAD_COUNT": "48",
                                 "REQUESTS_CA_BUNDLE": str(tls_files.ca_path),
                                 "NO_PROXY": "localhost"},
                                connection_timeout=3, read_timeout=5)

    assert isinstance(transport, PooledTransport)
    assert transport.pools.connection_pool_kw["maxsize"] == 48
    assert transport.ca_file == str(tls_files.ca_path)
    config = transport.connection_config
    assert (config.timeout, config.read_timeout) == (3, 5)


@pytest.mark.parametrize(("threads", "fan_out", "size"), [
    ("8", 1, 8), ("8", 5, 40), (None, 5, DEFAULT_POOL_SIZE * 5), ("100", 16, MAX_POOL_SIZE),
    ("8", 0, 8),
])
def test_pool_keeps_a_connection_per_call_an_invocation_fans_out(
    threads: str | None, fan_out: int, size: int,
) -> None:
    env = {} if threads is None else {"PYTHON_THREADPOOL_THREAD_COUNT": threads}

    transport = build_transport(env, fan_out=fan_out)

    assert isinstance(transport, PooledTransport)
    assert transport.pools.connection_pool_kw["maxsize"] == size


def test_build_transport_trusts_certifi_without_override() -> None:
    transport = build_transport({})

    assert isinstance(transport, PooledTransport)
    assert transport.ca_file == certifi.where()
    assert transport.tls.verify_mode == ssl.CERT_REQUIRED and transport.tls.check_hostname


@pytest.mark.parametrize("name", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_unreadable_ca_bundle_is_a_configuration_error(name: str, tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")

    for path in (tmp_path / "missing.pem", not_pem):
        with pytest.raises(ConfigurationError, match="CA bundle"):
            build_transport({name: str(path)})


def test_build_transport_with_proxy_uses_requests_per_url_rules() -> None:
    transport = build_transport({"HTTPS_PROXY": "http://proxy.example:3128"},
                                connection_timeout=3, read_timeout=5)

    assert isinstance(transport, RequestsTransport)
    assert transport.session is not None and transport.session.trust_env is True
    adapter = transport.session.get_adapter("https://acs.example")
    assert isinstance(adapter, HTTPAdapter)
    assert adapter._pool_maxsize == DEFAULT_POOL_SIZE  # type: ignore[attr-defined]
    assert transport.connection_config.verify == certifi.where()
    assert (transport.connection_config.timeout,
            transport.connection_config.read_timeout) == (3, 5)


def test_connect_timeout_is_not_sent() -> None:
    """A listener whose accept queue is full drops new connection attempts: the connect times
    out before anything is sent."""
    import select
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):  # fill the accept queue: further handshakes go unanswered
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        # The listener is readable once its queue holds a connection: only then is it full.
        assert select.select([listener], [], [], 5)[0]
        with pytest.raises(ServiceRequestTimeoutError):
            _transport().send(HttpRequest("GET", f"http://127.0.0.1:{port}/e"),
                              connection_timeout=0.3)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
