"""`python -m devhost.stack` (`make run`): the emulator, Azurite and the function app, locally.

The functions run under `func start` when Azure Functions Core Tools is on PATH, otherwise
under the local host (`python -m devhost`). Ctrl-C or SIGTERM stops every process started and
removes the settings file; with --stop-with-parent (`make run`) so does the parent stopping.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType

import requests

from devhost.__main__ import KEY_VARIABLE
from devhost.parent import ParentWatch
from devhost.quickstart import app_settings, host_section, render
from devhost.services import REPO_ROOT, Service, ServiceStartError, start_azurite, start_emulator

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DEFAULT_SETTINGS_FILE = REPO_ROOT / ".local" / "settings.json"


class StackError(RuntimeError):
    """The stack cannot start; the message says what to do."""


class Stopped(Exception):
    """SIGINT or SIGTERM arrived."""


class Stopping:
    """Why the stack should stop now: a SIGINT or SIGTERM it received, or its parent stopping.

    The signal handler only records the signal; the stack's wait loops call `check`, which
    raises `Stopped`. Raising from the handler itself could land anywhere, such as inside
    `Popen.wait` between taking and releasing its lock, after which every later wait on that
    process times out and the clean-up fails.
    """

    def __init__(self, parent: ParentWatch | None = None) -> None:
        self.parent = parent
        self.received: str | None = None

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received = self.received or signal.Signals(signum).name

    def check(self) -> None:
        reason = self.received or (self.parent.stop_reason() if self.parent else None)
        if reason:
            raise Stopped(reason)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devhost.stack",
        description="Run the service locally: ACS emulator, Azurite and the functions.",
    )
    parser.add_argument("--port", type=int, default=7071, help="functions port (default 7071)")
    parser.add_argument("--emulator-port", type=int, default=0, help="emulator port (0: free)")
    parser.add_argument("--azurite-blob-port", type=int, default=0, help="Azurite blob port")
    parser.add_argument("--azurite-queue-port", type=int, default=0, help="Azurite queue port")
    parser.add_argument("--azurite-table-port", type=int, default=0, help="Azurite table port")
    parser.add_argument("--settings-file", type=Path, default=DEFAULT_SETTINGS_FILE,
                        help="where to write the settings JSON (default .local/settings.json)")
    parser.add_argument("--app-root", type=Path, default=REPO_ROOT, help="function app folder")
    parser.add_argument("--local-host", action="store_true",
                        help="use the local host even when Core Tools (func) is installed")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds to wait for each piece to answer")
    parser.add_argument("--stop-with-parent", action="store_true",
                        help="also stop when the parent exits or is stopping (make run: make "
                             "does not pass SIGINT on to the processes it started)")
    return parser.parse_args(argv)


def check_ports_free(ports: Mapping[str, int]) -> None:
    """Fail early, naming the option, for any chosen port that something already holds."""
    for option, port in ports.items():
        if port == 0:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # Same reuse rule as the servers, so a port in TIME_WAIT is not reported as taken.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((LOOPBACK, port))
            except OSError as error:
                raise StackError(
                    f"port {port} ({option}) is already in use on {LOOPBACK}: stop what is "
                    f"using it or choose another port with {option} ({error.strerror})"
                ) from error


def write_json(path: Path, data: Mapping[str, str]) -> None:
    """Write atomically, so a reader polling for the file never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as file:
        json.dump(dict(data), file, indent=2)
        file.write("\n")
    Path(temporary).replace(path)


def write_local_settings(app_root: Path, settings: Mapping[str, str]) -> Path:
    """local.settings.json for Core Tools; values a developer added there are kept.

    The `Host` section gets the example web client's CORS origins unless it sets its own.
    """
    path = app_root / "local.settings.json"
    existing: dict[str, object] = {}
    if path.exists():
        with contextlib.suppress(ValueError):
            existing = json.loads(path.read_text(encoding="utf-8-sig"))
    values = existing.get("Values")
    merged = {**(values if isinstance(values, dict) else {}), **settings}
    host = existing.get("Host")
    host = host if isinstance(host, dict) else {}
    host_merged = host if "CORS" in host else {**host_section(), **host}
    path.write_text(json.dumps(
        {**existing, "IsEncrypted": False, "Values": merged, "Host": host_merged}, indent=2
    ))
    return path


def start_functions(
    args: argparse.Namespace, settings: Mapping[str, str], workdir: Path
) -> tuple[subprocess.Popen[bytes], str, str]:
    """Start `func start` or the local host; returns the process, runner name and key."""
    func = None if args.local_host else shutil.which("func")
    env = dict(os.environ)
    if func:
        write_local_settings(args.app_root, settings)
        # Core Tools starts the `python` on PATH: make it this environment's interpreter.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        argv = [func, "start", "--port", str(args.port)]
        # Core Tools does not check function keys locally, so there is no key to publish.
        return subprocess.Popen(argv, cwd=args.app_root, env=env), "func start", ""
    key = secrets.token_urlsafe(32)
    settings_path = workdir / "functions.settings.json"
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_path.write_text(json.dumps(
        {"IsEncrypted": False, "Values": dict(settings), "Host": host_section()}
    ))
    env[KEY_VARIABLE] = key
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    argv = [sys.executable, "-m", "devhost", "--app-root", str(args.app_root),
            "--port", str(args.port), "--settings-file", str(settings_path)]
    return subprocess.Popen(argv, env=env), "local host", key


def wait_until_answers(url: str, process: subprocess.Popen[bytes], timeout: float,
                       stopping: Stopping) -> None:
    """Poll until the functions answer HTTP (any status but 503, which means starting)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stopping.check()
        if process.poll() is not None:
            raise StackError(f"the functions exited with status {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/", timeout=2).status_code != 503:
                return
        time.sleep(0.2)
    raise StackError(f"the functions did not answer on {url} within {timeout:.0f}s")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


@contextlib.contextmanager
def running(args: argparse.Namespace, stopping: Stopping
            ) -> Iterator[tuple[dict[str, str], subprocess.Popen[bytes]]]:
    """Start everything; on leaving, stop it all in reverse order and remove the settings."""
    workdir = args.settings_file.resolve().parent / "run"
    services: list[Service] = []
    process: subprocess.Popen[bytes] | None = None
    try:
        emulator = start_emulator(workdir=workdir / "emulator", port=args.emulator_port,
                                  check=stopping.check)
        services.append(emulator)
        azurite = start_azurite(
            workdir=workdir / "azurite", blob_port=args.azurite_blob_port,
            queue_port=args.azurite_queue_port, table_port=args.azurite_table_port,
            check=stopping.check,
        )
        services.append(azurite)
        settings = app_settings(emulator.settings, azurite.settings)
        process, runner, key = start_functions(args, settings, workdir)
        url = f"http://localhost:{args.port}"
        wait_until_answers(url, process, args.timeout, stopping)
        published = {
            **emulator.settings,
            "FUNCTIONS_URL": url,
            "FUNCTIONS_KEY": key,
            "AZURITE_CONNECTION_STRING": azurite.settings["AZURITE_CONNECTION_STRING"],
        }
        write_json(args.settings_file, published)
        print(render(published, args.settings_file, runner), flush=True)
        yield published, process
    finally:
        # A second Ctrl-C is only recorded (see Stopping), so it cannot cut the clean-up short.
        if process is not None:
            stop_process(process)
        for service in reversed(services):
            service.stop()
        # Its URLs and ports are dead now; a stale file would send clients to nothing.
        args.settings_file.unlink(missing_ok=True)
        logger.info("every process started here is stopped")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not 0 < args.port < 65536:
        print("error: --port must be a port number (the URL is published before start)",
              file=sys.stderr)
        return 2
    args.app_root = args.app_root.resolve()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    stopping = Stopping(ParentWatch() if args.stop_with_parent else None)
    signal.signal(signal.SIGINT, stopping.on_signal)
    signal.signal(signal.SIGTERM, stopping.on_signal)
    try:
        check_ports_free({
            "--port": args.port, "--emulator-port": args.emulator_port,
            "--azurite-blob-port": args.azurite_blob_port,
            "--azurite-queue-port": args.azurite_queue_port,
            "--azurite-table-port": args.azurite_table_port,
        })
        with running(args, stopping) as (_, process):
            while True:
                try:
                    returncode = process.wait(timeout=0.25)
                except subprocess.TimeoutExpired:
                    stopping.check()
                    continue
                raise StackError(f"the functions exited with status {returncode}")
    except Stopped as stop:
        logger.info("stopped on %s", stop)
        return 0
    except (StackError, ServiceStartError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
