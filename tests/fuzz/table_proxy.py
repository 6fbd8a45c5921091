"""A counting proxy in front of Azurite's Table endpoint, for the fuzz tier's side-effect checks.

The service under test reaches its tables only through this proxy, which passes every request
on unchanged (Shared Key signs the account and path, never the host) and counts, per table,
the writes Azurite carried out: each 2xx answer to a request that is not a read, and each
operation of a `$batch` (counted for its table) answered with a 2xx. `GET /__writes` answers
the counts as JSON.

Reading the counts is one small request, where reading every row of every table after each
request cost Azurite a scan per table; and it sees what comparing rows cannot, such as an
entity merged or replaced in place.

`python -m tests.fuzz.table_proxy TARGET READY_FILE`: TARGET is Azurite's table endpoint
origin; once listening on a free loopback port, the proxy writes its origin to READY_FILE.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from devhost.services import azurite_connection_string

REPO_ROOT = Path(__file__).resolve().parents[2]

WRITES_PATH = "/__writes"
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
# Headers that belong to one connection, not to the request passed on.
_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                  "proxy-connection", "host"})
# Each operation of a $batch carries its own request line, and of its answer a status line.
_BATCH_REQUEST = re.compile(rb"^[A-Z]+ (\S+) HTTP/1\.1\r?$", re.M)
_BATCH_SUCCESS = re.compile(rb"^HTTP/1\.1 2\d\d ", re.M)


def table_of(path: str) -> str:
    """The table a request's path (or URL) addresses: `/account/name(...)` or
    `/account/name`, or `Tables` (create and delete tables) or `$batch`."""
    segments = unquote(urlsplit(path).path).strip("/").split("/")
    name = segments[1] if len(segments) > 1 else segments[0]
    return name.split("(", 1)[0]


class _Counts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.writes: Counter[str] = Counter()

    def add(self, table: str, count: int) -> None:
        if count:
            with self._lock:
                self.writes[table] += count

    def json(self) -> bytes:
        with self._lock:
            return json.dumps(dict(self.writes)).encode()


def serve(target: str) -> ThreadingHTTPServer:
    """The proxy, bound to a free loopback port (not yet serving)."""
    parts = urlsplit(target)
    assert parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"), target
    counts = _Counts()
    local = threading.local()

    def upstream() -> http.client.HTTPConnection:
        if getattr(local, "connection", None) is None:
            local.connection = http.client.HTTPConnection(parts.netloc, timeout=30)
        connection: http.client.HTTPConnection = local.connection
        return connection

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, the body waits on the
        # client's delayed acknowledgement (some 40 ms a request).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            pass  # thousands of requests: nothing worth a line each

        def _forward(self) -> None:
            if self.command == "GET" and self.path == WRITES_PATH:
                self._answer(200, [("Content-Type", "application/json")], counts.json())
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            try:
                status, reason, answer_headers, answer = self._upstream(body, headers)
            except (OSError, http.client.HTTPException):
                local.connection = None
                status, reason, answer_headers, answer = self._upstream(body, headers)
            if self.command not in _READS and 200 <= status < 300:
                table = table_of(self.path)
                if table == "$batch":  # one table (a transaction is one partition's)
                    first = _BATCH_REQUEST.search(body or b"")
                    table = table_of(first.group(1).decode()) if first else table
                    counts.add(table, len(_BATCH_SUCCESS.findall(answer)))
                else:
                    counts.add(table, 1)
            self._answer(status, answer_headers, answer, reason)

        def _upstream(self, body: bytes | None, headers: dict[str, str]
                      ) -> tuple[int, str, list[tuple[str, str]], bytes]:
            connection = upstream()
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            kept = [(k, v) for k, v in response.getheaders()
                    if k.lower() not in _HOP and k.lower() != "content-length"]
            return response.status, response.reason, kept, answer

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes,
                    reason: str | None = None) -> None:
            self.send_response(status, reason)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_MERGE = do_DELETE = do_HEAD = _forward
        do_OPTIONS = _forward

    return _Server(("127.0.0.1", 0), Handler)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the service opens a connection per worker thread at once


@contextlib.contextmanager
def proxied_tables(azurite: dict[str, str], workdir: Path) -> Iterator[tuple[str, str]]:
    """A proxy process in front of `azurite`'s tables: yields the Azurite connection string
    with its table endpoint on the proxy, and the proxy's origin (for `GET /__writes`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / "table-proxy.json"
    log = workdir / "table-proxy.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz.table_proxy",
             azurite["AZURITE_TABLE_ENDPOINT"], str(ready)],
            cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() or not ready.read_text():
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the table proxy did not start in 30 s"
            time.sleep(0.02)
        origin = json.loads(ready.read_text())["origin"]
        yield azurite_connection_string(azurite["AZURITE_BLOB_ENDPOINT"],
                                        azurite["AZURITE_QUEUE_ENDPOINT"], origin), origin
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def main(argv: list[str]) -> int:
    target, ready_file = argv
    server = serve(target)
    host, port = server.server_address[:2]
    # Written whole, then renamed: a reader never sees half of it.
    partial = Path(ready_file + ".partial")
    partial.write_text(json.dumps({"origin": f"http://{host!s}:{port}"}))
    partial.rename(ready_file)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
