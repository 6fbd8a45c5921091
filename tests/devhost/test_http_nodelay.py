"""The local host answers a kept-alive connection at once: its accepted sockets set
TCP_NODELAY, so a body written after the headers is not held for the client's delayed ACK."""

from __future__ import annotations

import http.client
import socket
import threading

from devhost.queues import QueueClients
from devhost.web import HttpFrontServer


class _RecordingServer(HttpFrontServer):
    """Keeps each accepted socket, so the test can read the options the handler set."""

    accepted: list[socket.socket]

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        self.accepted.append(connection)
        return connection, address


def test_http_accepted_connection_tcp_nodelay_set() -> None:
    server = _RecordingServer([], route_prefix="api", key="k", outputs=QueueClients({}, "none"))
    server.accepted = []
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    client = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        for _ in range(2):  # the second answer rides the same kept-alive connection
            client.request("GET", "/api/none")
            response = client.getresponse()
            response.read()
            assert response.status == 404

        assert len(server.accepted) == 1
        assert server.accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        client.close()
        server.shutdown()
        server.server_close()
