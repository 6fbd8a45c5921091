"""The local host's HTTP front: routes, methods, keys, and request/response fidelity."""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests

from devhost.host import LocalHost
from devhost.queues import QueueClients
from devhost.web import HttpFrontServer
from tests.devhost.apps import AppFolder

ECHO = """
import json
import azure.functions as func

def main(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({
        "method": req.method,
        "url": req.url,
        "headers": dict(req.headers),
        "params": dict(req.params),
        "route_params": dict(req.route_params),
        "body": req.get_body().decode("latin-1"),
    }), mimetype="application/json")
"""

StartHost = Callable[..., LocalHost]


def test_http_route_parameters_reach_route_params(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Item", ECHO, route="items/{id:int}/{name?}", methods=["get"])
    host = start_host(app)

    with_name = requests.get(f"{host.url}/api/items/42/box", timeout=10)
    without = requests.get(f"{host.url}/api/ITEMS/7", timeout=10)

    assert with_name.status_code == 200
    assert with_name.json()["route_params"] == {"id": "42", "name": "box"}
    assert without.json()["route_params"] == {"id": "7"}


def test_http_constraint_mismatch_or_unknown_route_404(
    app: AppFolder, start_host: StartHost
) -> None:
    app.http_function("Item", ECHO, route="items/{id:int}")
    host = start_host(app)

    assert requests.get(f"{host.url}/api/items/abc", timeout=10).status_code == 404
    assert requests.get(f"{host.url}/api/nothing", timeout=10).status_code == 404
    assert requests.get(f"{host.url}/items/1", timeout=10).status_code == 404


def test_http_method_not_listed_405_with_allow(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Thing", ECHO, route="thing", methods=["post", "put"])
    host = start_host(app)

    response = requests.get(f"{host.url}/api/thing", timeout=10)

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST, PUT"


def test_http_default_route_is_function_name(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Hello", ECHO)
    host = start_host(app)

    assert requests.delete(f"{host.url}/api/hello", timeout=10).status_code == 200


def test_http_route_prefix_from_host_json_is_used(app: AppFolder, start_host: StartHost) -> None:
    app.host_json(http={"routePrefix": ""})
    app.http_function("Root", ECHO, route="ping")
    host = start_host(app)

    assert requests.get(f"{host.url}/ping", timeout=10).status_code == 200
    assert requests.get(f"{host.url}/api/ping", timeout=10).status_code == 404


def test_http_function_auth_level_without_key_401(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Secret", ECHO, auth="function")
    app.http_function("Admin", ECHO, auth="admin")
    host = start_host(app)

    assert requests.get(f"{host.url}/api/secret", timeout=10).status_code == 401
    assert requests.get(
        f"{host.url}/api/secret", headers={"x-functions-key": "wrong"}, timeout=10
    ).status_code == 401
    assert requests.get(f"{host.url}/api/admin", timeout=10).status_code == 401


def test_http_function_auth_level_with_key_header_or_code_200(
    app: AppFolder, start_host: StartHost
) -> None:
    app.http_function("Secret", ECHO, auth="function")
    app.http_function("Admin", ECHO, auth="admin")
    host = start_host(app)

    by_header = requests.get(
        f"{host.url}/api/secret", headers={"x-functions-key": host.key}, timeout=10
    )
    by_code = requests.get(f"{host.url}/api/admin", params={"code": host.key}, timeout=10)

    assert by_header.status_code == 200
    assert by_code.status_code == 200


def test_http_auth_level_omitted_defaults_to_function_401(
    app: AppFolder, start_host: StartHost
) -> None:
    app.function("Plain", [
        {"type": "httpTrigger", "direction": "in", "name": "req"},
        {"type": "http", "direction": "out", "name": "$return"},
    ], ECHO)
    host = start_host(app)

    assert requests.get(f"{host.url}/api/plain", timeout=10).status_code == 401


def test_http_request_fields_reach_function_unchanged(
    app: AppFolder, start_host: StartHost
) -> None:
    app.http_function("Echo", ECHO, route="echo/{kind}")
    host = start_host(app)
    body = bytes(range(256))

    response = requests.post(
        f"{host.url}/api/echo/raw?a=1&b=two&a=3",
        data=body,
        headers={"X-Custom": "Value", "Content-Type": "application/octet-stream"},
        timeout=10,
    )

    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["url"] == f"{host.url}/api/echo/raw?a=1&b=two&a=3"
    assert seen["headers"]["x-custom"] == "Value"
    assert seen["headers"]["content-type"] == "application/octet-stream"
    assert seen["params"] == {"a": "1,3", "b": "two"}
    assert seen["route_params"] == {"kind": "raw"}
    assert seen["body"].encode("latin-1") == body


def test_http_response_status_headers_and_body_unchanged(
    app: AppFolder, start_host: StartHost
) -> None:
    app.http_function("Made", """
        import azure.functions as func

        def main(req: func.HttpRequest) -> func.HttpResponse:
            kind = req.params["kind"]
            if kind == "problem":
                return func.HttpResponse(
                    b'{"title": "x"}', status_code=409,
                    headers={"Content-Type": "application/problem+json", "Retry-After": "3"},
                )
            if kind == "json":
                return func.HttpResponse(b"[1]", status_code=201, mimetype="application/json",
                                         headers={"Location": "/api/made/1"})
            return func.HttpResponse("h\\u00e9llo", mimetype="text/html", charset="utf-8")
    """)
    host = start_host(app)

    problem = requests.get(f"{host.url}/api/made?kind=problem", timeout=10)
    created = requests.get(f"{host.url}/api/made?kind=json", timeout=10)
    html = requests.get(f"{host.url}/api/made?kind=html", timeout=10)

    assert problem.status_code == 409
    assert problem.headers["Content-Type"] == "application/problem+json"
    assert problem.headers["Retry-After"] == "3"
    assert problem.content == b'{"title": "x"}'
    assert created.status_code == 201
    assert created.headers["Content-Type"] == "application/json"
    assert created.headers["Location"] == "/api/made/1"
    assert created.content == b"[1]"
    assert html.headers["Content-Type"] == "text/html; charset=utf-8"
    assert html.content == "h\u00e9llo".encode()


def test_http_string_return_is_200_text(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Text", "def main(req):\n    return 'plain'\n")
    host = start_host(app)

    response = requests.get(f"{host.url}/api/text", timeout=10)

    assert response.status_code == 200
    assert response.text == "plain"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_http_function_exception_500_empty_body(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Boom", "def main(req):\n    raise RuntimeError('secret internals')\n")
    host = start_host(app)

    response = requests.get(f"{host.url}/api/boom", timeout=10)

    assert response.status_code == 500
    assert response.content == b""


def test_http_broken_function_500_others_still_served(
    app: AppFolder, start_host: StartHost
) -> None:
    app.http_function("Broken", "import no_such_module_here\n")
    app.http_function("Fine", ECHO)
    host = start_host(app)

    assert requests.get(f"{host.url}/api/broken", timeout=10).status_code == 500
    assert requests.get(f"{host.url}/api/fine", timeout=10).status_code == 200


def test_http_context_parameter_has_invocation_and_name(
    app: AppFolder, start_host: StartHost
) -> None:
    app.http_function("Ctx", """
        import azure.functions as func

        def main(req: func.HttpRequest, context: func.Context) -> str:
            return f"{context.function_name} {context.invocation_id}"
    """)
    host = start_host(app)

    name, invocation = requests.get(f"{host.url}/api/ctx", timeout=10).text.split()

    assert name == "Ctx"
    assert len(invocation) == 36


def test_http_async_function_is_awaited(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Later", "async def main(req):\n    return 'awaited'\n")
    host = start_host(app)

    assert requests.get(f"{host.url}/api/later", timeout=10).text == "awaited"


def test_http_script_file_and_entry_point_and_shared_import_honoured(
    app: AppFolder, start_host: StartHost
) -> None:
    (app.root / "common").mkdir()
    (app.root / "common" / "__init__.py").write_text("GREETING = 'from common'\n")
    app.function("Custom", [
        {"type": "httpTrigger", "direction": "in", "name": "request", "authLevel": "anonymous"},
        {"type": "http", "direction": "out", "name": "$return"},
    ], """
        from common import GREETING
        from . import helper

        def run(request):
            return f"{GREETING} {helper.VALUE}"
    """, script="handler.py", entry="run")
    (app.root / "Custom" / "helper.py").write_text("VALUE = 'and helper'\n")
    host = start_host(app)

    assert requests.get(f"{host.url}/api/custom", timeout=10).text == "from common and helper"


def test_http_settings_applied_to_environment_then_restored(
    app: AppFolder, start_host: StartHost
) -> None:
    app.http_function("Env", "import os\n\ndef main(req):\n    return os.environ['DEVHOST_T']\n")
    host = start_host(app, {"DEVHOST_T": "applied"})

    assert requests.get(f"{host.url}/api/env", timeout=10).text == "applied"
    host.stop()
    assert "DEVHOST_T" not in os.environ


def test_http_disabled_function_is_not_served(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Off", ECHO)
    host = start_host(app, {"AzureWebJobs.Off.Disabled": "true"})

    assert requests.get(f"{host.url}/api/off", timeout=10).status_code == 404


def test_http_parameter_without_binding_is_not_loaded(
    app: AppFolder, start_host: StartHost
) -> None:
    app.http_function("Odd", "def main(req, other):\n    return 'never'\n")
    host = start_host(app)

    assert requests.get(f"{host.url}/api/odd", timeout=10).status_code == 500


def test_http_head_request_has_no_body(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Head", ECHO)
    host = start_host(app)

    response = requests.head(f"{host.url}/api/head", timeout=10)

    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["Content-Length"]) > 0


def test_http_describe_lists_routes(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Item", ECHO, route="items/{id}", methods=["get"])
    host = start_host(app)

    assert host.describe() == [f"Item: [GET] {host.url}/api/items/{{id}}"]


def test_http_repeated_response_headers_all_sent(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Cookies", """
        import azure.functions as func

        def main(req: func.HttpRequest) -> func.HttpResponse:
            response = func.HttpResponse("ok")
            response.headers.add("Set-Cookie", "a=1")
            response.headers.add("Set-Cookie", "b=2")
            return response
    """)
    host = start_host(app)

    response = requests.get(f"{host.url}/api/cookies", timeout=10)

    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_http_imitation_appends_app_root_to_sys_path_and_stop_removes_it(
    app: AppFolder, start_host: StartHost
) -> None:
    app.http_function("Any", ECHO)
    host = start_host(app, imitation=True)
    assert sys.path[-1] == str(app.root.resolve())

    host.stop()

    assert str(app.root.resolve()) not in sys.path


def test_http_fifty_connections_queued_before_accept_all_served() -> None:
    """The listen backlog holds a burst: 50 clients connect while nothing is accepted yet
    (a busy host), and each connection completes and is served once the host accepts."""
    server = HttpFrontServer([], route_prefix="api", key="k", outputs=QueueClients({}, "none"))
    clients = []
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    try:
        port = server.server_address[1]
        for _ in range(50):
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
            clients.append(client)
        pending = set(clients)
        deadline = time.monotonic() + 3
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], list(pending), [], 0.2)
            pending -= {c for c in writable
                        if c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0}
        assert not pending, f"{len(pending)} of 50 connections did not complete"
        serving.start()
        for client in clients:
            client.setblocking(True)
            client.settimeout(10)
            client.sendall(b"GET /api/none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = [client.recv(64) for client in clients]
        assert all(a.startswith(b"HTTP/1.1 404") for a in answers)
    finally:
        for client in clients:
            client.close()
        if serving.is_alive():
            server.shutdown()
        server.server_close()


def test_http_repeated_header_joined_with_comma(app: AppFolder, start_host: StartHost) -> None:
    app.http_function("Echo", ECHO, route="echo", methods=["post"])
    host = start_host(app)
    parts = urlsplit(host.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    connection.putrequest("POST", "/api/echo")
    connection.putheader("Authorization", "Bearer first")
    connection.putheader("Authorization", "Bearer second")
    connection.putheader("Content-Length", "0")
    connection.endheaders()
    echoed = json.loads(connection.getresponse().read())
    connection.close()

    assert echoed["headers"]["authorization"] == "Bearer first, Bearer second"


@pytest.mark.parametrize("framing", [
    b"Content-Length: :\r\n", b"Content-Length: -5\r\n", b"Content-Length: 12abc\r\n",
    b"Transfer-Encoding: chunked\r\n",  # followed by a chunk size that is not hex
])
def test_http_malformed_body_framing_400_connection_closed(
    app: AppFolder, start_host: StartHost, framing: bytes
) -> None:
    host = start_host(app)
    body = b"zz\r\nhello\r\n0\r\n\r\n" if b"chunked" in framing else b""
    port = urlsplit(host.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"POST /api/items/1 HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n" + body)
        answer = b""
        while chunk := client.recv(4096):  # ends only when the host closes the connection
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b"Content-Length: 0\r\n\r\n")
