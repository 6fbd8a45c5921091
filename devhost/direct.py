"""Calling a function's `main` directly, in this process: requests built the way the Functions
host hands them over, and the JSON of what comes back. For tests, benchmarks and tools.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func


def http_request(
    method: str,
    route: str,
    *,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    route_params: dict[str, str] | None = None,
) -> func.HttpRequest:
    """A request as the Functions host hands it to `main` (JSON body unless `raw`)."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers.setdefault("Authorization", f"Bearer {token}")
    if raw is None and body is not None:
        raw = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    return func.HttpRequest(
        method=method,
        url=f"http://localhost:7071/api/{route}",
        headers=all_headers,
        params={},
        route_params=route_params or {},
        body=raw or b"",
    )


def json_body(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())
