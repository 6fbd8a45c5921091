"""One worker process's IssueToken throughput, run by bench/asfiled_bench in a fresh process:
import the function app found in APP_DIR (this repository, or an earlier version of it),
answer a returning user's token requests from THREADS threads, print one line, exit.

`python -m bench.throughput_child APP_DIR THREADS CALLS`; the stack's settings come from the
environment, BENCH_TOKEN is the user's sign-in token. Only `IssueToken.main` and
`azure.functions` are used, which every version of the app has.
"""

from __future__ import annotations

import json
import os
import sys
import time

from bench.threads import run_concurrently


def main() -> None:
    app_dir, threads, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    # The app under test shadows this repository's own modules of the same names.
    sys.path.insert(0, app_dir)
    for name in [name for name in sys.modules if name == "shared" or name.startswith("shared.")]:
        del sys.modules[name]
    import azure.functions as func

    import IssueToken

    token = os.environ["BENCH_TOKEN"]

    def issue() -> None:
        request = func.HttpRequest(method="POST", url="http://localhost:7071/api/token",
                                   headers={"Authorization": f"Bearer {token}"}, params={},
                                   route_params={}, body=b"")
        response = IssueToken.main(request)
        if response.status_code != 200:
            raise RuntimeError(f"IssueToken answered {response.status_code}")

    for _ in range(20):  # first use maps the identity; then warm every path
        issue()
    cpu = time.process_time()
    elapsed = run_concurrently(issue, threads, calls)
    cpu = time.process_time() - cpu
    import shared

    # Where the app under test was loaded from, so the caller can check it was APP_DIR's.
    print(json.dumps({"calls_per_s": calls / elapsed, "cpu_ms_per_call": cpu / calls * 1000,
                      "loaded_from": [IssueToken.__file__, shared.__file__]}), flush=True)


if __name__ == "__main__":
    main()
