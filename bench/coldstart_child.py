"""One cold start, run in a fresh process by bench/coldstart_bench: import a handler, answer one
IssueToken request for a returning user, print one line, exit.

`python -m bench.coldstart_child service|sdk`; the stack's settings come from the environment
(BENCH_TABLE, BENCH_PARTITION, BENCH_ROW and BENCH_TOKEN name the user).
"""

from __future__ import annotations

import json
import os
import sys
import time


def _request(token: str) -> object:
    import azure.functions as func

    return func.HttpRequest(method="POST", url="http://localhost:7071/api/token",
                            headers={"Authorization": f"Bearer {token}"}, params={},
                            route_params={}, body=b"")


def main() -> None:
    started = time.perf_counter()
    token = os.environ["BENCH_TOKEN"]
    request = _request(token)  # both are Functions handlers: both import azure.functions
    if sys.argv[1] == "service":
        import IssueToken

        imported = time.perf_counter()
        response = IssueToken.main(request)  # type: ignore[arg-type]
        ok = response.status_code == 200
    else:
        from bench.sdk_handler import SdkHandler

        handler = SdkHandler(dict(os.environ), os.environ["BENCH_TABLE"],
                             os.environ["BENCH_PARTITION"], os.environ["BENCH_ROW"])
        imported = time.perf_counter()
        ok = bool(json.dumps(handler.issue(f"Bearer {token}")))
    done = time.perf_counter()
    print(json.dumps({"ok": ok, "import_s": imported - started, "call_s": done - imported}),
          flush=True)


if __name__ == "__main__":
    main()
