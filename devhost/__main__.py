"""`python -m devhost`: run a function app folder with the local host until Ctrl-C.

The run command (`python -m devhost.stack`) starts this when Core Tools is absent.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from devhost.cors import CorsConfigError, CorsPolicy
from devhost.host import LocalHost

logger = logging.getLogger(__name__)

KEY_VARIABLE = "DEVHOST_FUNCTIONS_KEY"


def read_settings(path: Path | None) -> dict[str, str]:
    """App settings from a local.settings.json (its `Values`) or a flat JSON object."""
    if path is None:
        return {}
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    values = data.get("Values", data) if isinstance(data, dict) else None
    if not isinstance(values, dict):
        raise SystemExit(f"{path}: expected a JSON object of settings")
    return {str(k): str(v) for k, v in values.items()}


def read_cors(path: Path | None) -> CorsPolicy | None:
    """The CORS policy from a local.settings.json's `Host` section (`CORS`, `CORSCredentials`)."""
    if path is None:
        return None
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    host = data.get("Host") if isinstance(data, dict) else None
    if host is None:
        return None
    if not isinstance(host, dict):
        raise CorsConfigError(f"{path}: `Host` must be a JSON object")
    return CorsPolicy.from_host_section(host)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devhost",
        description="Local stand-in for the Azure Functions host (not the host itself).",
    )
    parser.add_argument("--app-root", type=Path, default=Path.cwd(), help="function app folder")
    parser.add_argument("--port", type=int, default=7071, help="HTTP port on 127.0.0.1")
    parser.add_argument("--settings-file", type=Path, help="local.settings.json or flat JSON")
    parser.add_argument("--ready-file", type=Path,
                        help="write {FUNCTIONS_URL, FUNCTIONS_KEY} here once serving")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The Azure SDKs log every storage poll at INFO; keep the console about the functions.
    logging.getLogger("azure").setLevel(logging.WARNING)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    settings = read_settings(args.settings_file)
    try:
        cors = read_cors(args.settings_file)
    except CorsConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # The worker runs with the app root as its working directory; so does this.
    os.chdir(args.app_root)
    host = LocalHost(
        args.app_root, settings, port=args.port, key=os.environ.get(KEY_VARIABLE), cors=cors
    )
    try:
        host.start()
    except OSError as error:
        print(f"cannot serve on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
        return 2
    try:
        print("Functions (local host, not the Azure Functions host):\n", flush=True)
        for line in host.describe():
            print(f"    {line}")
        print(f"\nFunction key (x-functions-key header or ?code=): {host.key}\n", flush=True)
        if cors is not None:
            allowed = "*" if cors.any_origin else ", ".join(sorted(cors.origins))
            print(f"CORS origins: {allowed} (credentials: {cors.credentials})\n", flush=True)
        if args.ready_file:
            ready = {"FUNCTIONS_URL": host.url, "FUNCTIONS_KEY": host.key}
            temporary = args.ready_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(ready))
            temporary.replace(args.ready_file)
        stop.wait()
    finally:
        host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
