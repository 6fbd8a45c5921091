"""A scripted HTTP/1.1 server on a loopback port, for the transport's tests: each request it
reads gets the answer (or the failure) the test chose, and it counts the connections made.

Real sockets, real TLS: what the transport meets from a server that hangs, drops a connection
or cuts an answer short cannot be faked above the socket.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.config.key_refusal import AZURITE_ACCOUNT, AZURITE_KEY


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class Cut(bytes):
    """Bytes to send, after which the server closes the connection."""


# What to do with a request: bytes to send back (the connection stays open), `Cut` bytes (sent,
# then the connection is closed), b"" (held unanswered for `hold_seconds`, then closed), or
# None (closed at once without an answer).
Behaviour = Callable[[Received], bytes | None]


def answer(status: int = 200, body: bytes = b'{"ok": true}', *,
           headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} Status", "Content-Type: application/json",
             f"Content-Length: {len(body) if length is None else length}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class WireServer:
    behaviour: Behaviour
    tls: ssl.SSLContext | None = None
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    hold_seconds: float = 0.0  # how long a request answered with b"" is held unanswered
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self._listener = socket.create_server((self.host, 0))
        self.port = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (Linux)
        self._listener.close()
        self._thread.join(timeout=5)
        with self._lock:
            accepted, self._open = self._open, []
        for conn in accepted:  # wakes serving threads blocked reading a kept-alive connection
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def wait_received(self, count: int, timeout: float = 5.0) -> int:
        """How many requests have been read, once `count` have been or `timeout` has passed
        (the serving thread may still be reading when the client has given up)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.received)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    return
            reader = conn.makefile("rb")
            while not self._stopped.is_set():
                request = _read_request(reader)
                if request is None:
                    return
                with self._lock:
                    self.received.append(request)
                reply = self.behaviour(request)
                if reply is None:
                    return
                if not reply:
                    self._stopped.wait(self.hold_seconds)  # ends early when stopped
                    return
                conn.sendall(reply)
                if isinstance(reply, Cut):
                    return
        except OSError:
            return
        finally:
            conn.close()


def table_connection(server: WireServer) -> str:
    """A Table connection string for `server`, signed with Azurite's published development key
    (the SDK needs an account and key to sign; the scripted server never checks them)."""
    return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};TableEndpoint={server.url}/{AZURITE_ACCOUNT};")


def _read_request(reader: object) -> Received | None:
    readline = reader.readline  # type: ignore[attr-defined]
    start = readline()
    if not start:
        return None
    method, target, _ = start.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (line := readline()) not in (b"\r\n", b"\n", b""):
        name, value = line.decode("latin-1").split(":", 1)
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = reader.read(length) if length else b""  # type: ignore[attr-defined]
    return Received(method, target, headers, body)
