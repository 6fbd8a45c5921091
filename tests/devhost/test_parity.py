"""Parity: broken and edge-case functions through the real Python worker and the imitation.

Each variant's expected verdict is what Azure does with it (loaded or refused, the response,
the queue outcome); both paths must give exactly that. The worker path runs
azure-functions-runtime-v1 under Python 3.13+: this interpreter when it can, otherwise the
one named by DEVHOST_WORKER_PYTHON (the Makefile's 3.11 compatibility run sets it).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueMessage

from devhost.host import LocalHost
from devhost.worker import local_worker_python
from shared.services import use_services
from tests.devhost.apps import AppFolder, wait_for

WORKER_PYTHON = os.environ.get("DEVHOST_WORKER_PYTHON") or local_worker_python()
PATHS = ["imitation", *(["worker"] if WORKER_PYTHON else [])]

HTTP = {"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}
RETURN = {"type": "http", "direction": "out", "name": "$return"}
QUEUE_OUT = {"type": "queue", "direction": "out", "name": "out", "queueName": "parity-out"}

# name -> (bindings, code); every function answers GET /api/<name lower-cased>.
VARIANTS: dict[str, tuple[list[dict[str, Any]], str]] = {
    "Good": ([HTTP, RETURN], """
        import azure.functions as func

        def main(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
            return func.HttpResponse(f"ok {context.function_name}")
    """),
    "Unannotated": ([HTTP, RETURN], "def main(req):\n    return 'plain'\n"),
    "WrongTrigger": ([HTTP, RETURN], "def main(req: dict) -> str:\n    return 'never'\n"),
    "WrongReturn": ([HTTP, RETURN], """
        import azure.functions as func

        def main(req: func.HttpRequest) -> int:
            return 1
    """),
    "NotImported": ([HTTP, RETURN], """
        from __future__ import annotations

        def main(req: HttpRequest) -> str:
            return 'never'
    """),
    "WrongContext": ([HTTP, RETURN], """
        import azure.functions as func

        def main(req: func.HttpRequest, context: str) -> str:
            return 'never'
    """),
    "OutNotOut": ([HTTP, RETURN, QUEUE_OUT], """
        import azure.functions as func

        def main(req: func.HttpRequest, out: str) -> str:
            return 'never'
    """),
    "InIsOut": ([HTTP, RETURN], """
        import azure.functions as func

        def main(req: func.Out[func.HttpRequest]) -> str:
            return 'never'
    """),
    "NoReturnBinding": (
        [HTTP, {"type": "http", "direction": "out", "name": "res"}],
        """
        import azure.functions as func

        def main(req: func.HttpRequest, res: func.Out[func.HttpResponse]) -> str:
            res.set(func.HttpResponse("set"))
            return "returned"
        """,
    ),
    "NamedOutput": (
        [HTTP, {"type": "http", "direction": "out", "name": "res"}],
        """
        import azure.functions as func

        def main(req: func.HttpRequest, res: func.Out[func.HttpResponse]) -> None:
            res.set(func.HttpResponse("set", status_code=202))
        """,
    ),
    "BadName": (
        [{**HTTP, "name": "my_req"}, RETURN], "def main(my_req):\n    return 'never'\n"
    ),
    "Where": ([HTTP, RETURN], """
        import sys

        def main(req):
            return f"{__name__}|{sys.path[-1]}"
    """),
    "Echo": ([HTTP, RETURN], """
        import json

        def main(req):
            return json.dumps({"headers": dict(req.headers), "params": dict(req.params),
                               "body": req.get_body().decode()})
    """),
}

# What Azure answers: loaded functions run; refused ones are a bare 500; a function with a
# binding name the host rejects is never indexed, so it has no route.
REFUSED = (500, "")
VERDICTS: dict[str, tuple[int, str]] = {
    "Good": (200, "ok Good"),
    "Unannotated": (200, "plain"),
    "WrongTrigger": REFUSED,
    "WrongReturn": REFUSED,
    "NotImported": REFUSED,
    "WrongContext": REFUSED,
    "OutNotOut": REFUSED,
    "InIsOut": REFUSED,
    "NoReturnBinding": REFUSED,
    "NamedOutput": (202, "set"),
    "BadName": (404, ""),
}

RETURNS_WITHOUT_BINDING = """
import azure.functions as func

def main(msg: func.QueueMessage) -> None:
    return "a value the host has nowhere to put"
"""


@pytest.fixture(scope="module", params=PATHS)
def parity_host(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
    azurite: dict[str, str],
) -> Iterator[tuple[LocalHost, dict[str, QueueClient]]]:
    """All variants in one app, under the worker or the imitation, plus a queue variant."""
    app = AppFolder(tmp_path_factory.mktemp("parity") / "app")
    app.host_json(queues={"maxPollingInterval": "00:00:00.200", "maxDequeueCount": 1})
    for name, (bindings, code) in VARIANTS.items():
        app.function(name, bindings, code)
    name = f"p{uuid.uuid4().hex[:12]}"
    app.function("Returner", [
        {"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": name},
    ], RETURNS_WITHOUT_BINDING)
    connection = azurite["AZURITE_CONNECTION_STRING"]
    queues = {kind: QueueClient.from_connection_string(connection, queue)
              for kind, queue in (("in", name), ("poison", f"{name}-poison"))}
    host = LocalHost(
        app.root, {"AzureWebJobsStorage": connection},
        worker_python=WORKER_PYTHON if request.param == "worker" else None,
        imitation=request.param == "imitation",
    )
    host.start()
    try:
        yield host, queues
    finally:
        host.stop()


@pytest.mark.parametrize("variant", sorted(VERDICTS))
def test_parity_variant_verdict_matches_host(
    parity_host: tuple[LocalHost, dict[str, QueueClient]], variant: str
) -> None:
    host, _ = parity_host

    response = requests.get(f"{host.url}/api/{variant.lower()}", timeout=30)

    assert (response.status_code, response.text) == VERDICTS[variant]


def test_parity_module_name_and_sys_path_as_worker(
    parity_host: tuple[LocalHost, dict[str, QueueClient]],
) -> None:
    host, _ = parity_host

    module, last_path = requests.get(f"{host.url}/api/where", timeout=30).text.split("|")

    assert module == "__app__.Where"
    assert Path(last_path) == host.root


def test_parity_repeated_headers_joined_empty_query_dropped(
    parity_host: tuple[LocalHost, dict[str, QueueClient]],
) -> None:
    host, _ = parity_host

    # requests cannot repeat a header; http.client sends exactly what it is given.
    connection = http.client.HTTPConnection(urlsplit(host.url).netloc, timeout=30)
    connection.putrequest("GET", "/api/echo?a=1&empty=&a=2&blank")
    connection.putheader("X-Many", "one")
    connection.putheader("X-Many", "two")
    connection.endheaders()
    response = connection.getresponse()
    seen = json.loads(response.read())
    connection.close()

    assert seen["headers"]["x-many"] == "one, two"
    assert seen["params"] == {"a": "1,2"}


def test_parity_chunked_body_arrives_empty(
    parity_host: tuple[LocalHost, dict[str, QueueClient]],
) -> None:
    host, _ = parity_host

    response = requests.post(
        f"{host.url}/api/echo", data=iter([b"chunk", b"ed"]), timeout=30
    )

    assert response.status_code == 200
    assert response.json()["body"] == ""


def test_parity_queue_value_without_return_binding_fails_to_poison(
    parity_host: tuple[LocalHost, dict[str, QueueClient]],
) -> None:
    _, queues = parity_host
    queues["in"].send_message("aGVsbG8=")  # "hello", base64 as the host expects

    def poisoned_messages() -> list[QueueMessage]:
        try:
            return list(queues["poison"].peek_messages())
        except ResourceNotFoundError:
            return []  # created by the host on the first poison message

    poisoned = wait_for(poisoned_messages, timeout=30, what="the poison message")

    assert [m.content for m in poisoned] == ["aGVsbG8="]


@pytest.mark.parametrize("path", PATHS)
def test_parity_repository_functions_all_load_and_serve(
    path: str, repo_root: Path, app_settings: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = LocalHost(
        repo_root, app_settings,
        worker_python=WORKER_PYTHON if path == "worker" else None, imitation=path == "imitation",
    )
    with caplog.at_level(logging.ERROR, logger="devhost.host"):
        host.start()
    try:
        listed = host.describe()
        # An unauthenticated call reaches the function's own checks: its problem answer.
        response = requests.post(f"{host.url}/api/token", timeout=30)
    finally:
        host.stop()
        use_services(None)  # the imitation built them in this process, from app_settings

    assert [r.getMessage() for r in caplog.records if r.name == "devhost.host"] == []
    assert sorted(line.split(":")[0] for line in listed) == sorted(
        path.parent.name for path in repo_root.glob("*/function.json"))
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
