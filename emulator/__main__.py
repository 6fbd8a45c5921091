"""Command line: `python -m emulator [--host 127.0.0.1] [--port 0] [--settings-file PATH]`.
Starts the HTTPS server on loopback, then prints and writes the settings clients need."""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from emulator.context import Context
from emulator.server import EmulatorServer
from emulator.tls import create_tls_files, server_context

logger = logging.getLogger(__name__)

# Settings that hold a secret: the HMAC access key and the managed identity header.
_SECRETS = frozenset({"EMULATOR_CONNECTION_STRING", "IDENTITY_HEADER"})
_SECRET_NOTE = "(in the settings file)"


def _loopback(host: str) -> tuple[str, socket.AddressFamily, str]:
    """(bind address, family, host as written in URLs); anything off loopback is refused."""
    if host == "localhost":
        return "127.0.0.1", socket.AF_INET, "localhost"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise SystemExit(f"emulator: refusing --host {host!r}: it serves a fake ACS with an "
                         "unauthenticated admin API, so it only listens on loopback "
                         "(127.0.0.1, ::1 or localhost).")
    if address.version == 6:
        return str(address), socket.AF_INET6, f"[{address}]"
    return str(address), socket.AF_INET, str(address)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        file.write(text)
    Path(temp).replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument("--settings-file", type=Path,
                        help="also write the settings JSON here (atomically) when ready")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("EMULATOR_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    bind, family, url_host = _loopback(args.host)

    workdir = Path(tempfile.mkdtemp(prefix="acs-emulator-"))
    try:
        tls_files = create_tls_files(workdir)
        server = EmulatorServer((bind, args.port), family, server_context(tls_files))
        port = server.server_address[1]
        server.context = Context.create(f"https://{url_host}:{port}")
        settings = server.context.resource.settings(str(tls_files.ca_path))

        def stop(signum: int, frame: FrameType | None) -> None:
            logger.info("Stopping on signal %d", signum)
            # shutdown() waits for serve_forever to return, so it must not run on its thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        text = json.dumps(settings)
        if args.settings_file:
            # The file holds the secrets; standard output (often a log file) does not.
            _write_atomically(args.settings_file, text + "\n")
            text = json.dumps({name: _SECRET_NOTE if name in _SECRETS else value
                               for name, value in settings.items()})
        print(text, flush=True)
        logger.info("ACS emulator listening on %s", settings["ACS_ENDPOINT"])
        with server:
            server.serve_forever()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
