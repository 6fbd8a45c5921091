"""The real Python worker behind the local host: its process, its reports, its protocol.

Collected when a Python 3.13+ with azure-functions-runtime-v1 is at hand (this interpreter
or DEVHOST_WORKER_PYTHON); pytest's header line says which one.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

import pytest
import requests

from devhost.host import LocalHost
from devhost.worker import WorkerError, WorkerProcess
from tests.devhost.apps import AppFolder
from tests.devhost.test_parity import WORKER_PYTHON

StartHost = Callable[..., LocalHost]

with_worker = pytest.mark.parametrize(
    "worker", [WORKER_PYTHON] if WORKER_PYTHON else [], ids=["worker"] if WORKER_PYTHON else []
)

WHO = """
import os
import sys

def main(req):
    return f"{os.getpid()} {sys.version_info[0]}.{sys.version_info[1]} {__name__} v1"
"""


@with_worker
def test_worker_runs_functions_in_own_python_process(
    app: AppFolder, start_host: StartHost, worker: str
) -> None:
    app.http_function("Who", WHO)
    host = start_host(app, worker_python=worker)

    pid, version, module, _ = requests.get(f"{host.url}/api/who", timeout=30).text.split()

    assert int(pid) != os.getpid()
    assert tuple(int(part) for part in version.split(".")) >= (3, 13)
    assert module == "__app__.Who"


@with_worker
def test_worker_one_process_per_app_same_folder_names_kept_apart(
    tmp_path_factory: pytest.TempPathFactory, start_host: StartHost, worker: str
) -> None:
    first = AppFolder(tmp_path_factory.mktemp("one") / "app")
    second = AppFolder(tmp_path_factory.mktemp("two") / "app")
    first.http_function("Who", WHO)
    second.http_function("Who", WHO.replace(" v1", " v2"))

    hosts = [start_host(first, worker_python=worker), start_host(second, worker_python=worker)]
    answers = [requests.get(f"{h.url}/api/who", timeout=30).text.split() for h in hosts]

    assert [answer[3] for answer in answers] == ["v1", "v2"]
    assert answers[0][0] != answers[1][0]


@with_worker
def test_worker_load_error_logged_as_worker_reports_it(
    app: AppFolder, start_host: StartHost, worker: str, caplog: pytest.LogCaptureFixture
) -> None:
    app.http_function("Typed", "def main(req: dict) -> str:\n    return 'never'\n")
    with caplog.at_level(logging.ERROR, logger="devhost.host"):
        host = start_host(app, worker_python=worker)

    assert requests.get(f"{host.url}/api/typed", timeout=30).status_code == 500
    reports = [r.getMessage() for r in caplog.records if r.name == "devhost.host"]
    assert any(
        "Worker failed to load function 'Typed'" in line
        and 'FunctionLoadError: cannot load the Typed function' in line
        and "Traceback" in line
        for line in reports
    ), reports


@with_worker
def test_worker_print_goes_to_stderr_protocol_intact(
    app: AppFolder, start_host: StartHost, worker: str
) -> None:
    app.http_function("Loud", """
        def main(req):
            print("noise on stdout " * 100)
            return "still answered"
    """)
    host = start_host(app, worker_python=worker)

    responses = [requests.get(f"{host.url}/api/loud", timeout=30) for _ in range(3)]

    assert [r.text for r in responses] == ["still answered"] * 3


@with_worker
def test_worker_function_logs_reach_host_logging(
    app: AppFolder, start_host: StartHost, worker: str, caplog: pytest.LogCaptureFixture
) -> None:
    app.http_function("Talks", """
        import logging

        def main(req):
            logging.getLogger("talks").warning("hello from %s", "the worker")
            return "ok"
    """)
    host = start_host(app, worker_python=worker)

    with caplog.at_level(logging.WARNING, logger="talks"):
        requests.get(f"{host.url}/api/talks", timeout=30)

    assert ("talks", "hello from the worker") in [(r.name, r.getMessage()) for r in caplog.records]


@with_worker
def test_worker_process_exit_fails_invocation_500_not_hang(
    app: AppFolder, start_host: StartHost, worker: str
) -> None:
    app.http_function("Exit", "import os\n\ndef main(req):\n    os._exit(3)\n")
    app.http_function("After", "def main(req):\n    return 'unreachable once the worker is gone'\n")
    host = start_host(app, worker_python=worker)

    assert requests.get(f"{host.url}/api/exit", timeout=30).status_code == 500
    assert requests.get(f"{host.url}/api/after", timeout=30).status_code == 500


def test_worker_process_python_without_runtime_start_fails_clearly(app: AppFolder) -> None:
    # The base interpreter of this venv has neither protobuf nor the worker library.
    base = f"{sys.base_prefix}/bin/python{sys.version_info[0]}.{sys.version_info[1]}"
    process = WorkerProcess(base, app.root, {"PATH": os.environ.get("PATH", "")})

    with pytest.raises(WorkerError, match="exited"):
        process.start()
    process.stop()
