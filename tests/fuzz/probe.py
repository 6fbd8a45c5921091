"""Sends one fuzzed request to the running service and checks what every answer must satisfy:
no 5xx, listed by openapi.yaml with a body matching its schema, errors as RFC 9457
problem+json, and no ACS call or Table write behind any 4xx."""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import requests

from tests.fuzz.effects import SideEffects, changes
from tests.fuzz.endpoints import Endpoint, addressed, endpoints, resolve

_INTERNALS = re.compile(r"Traceback|File \"|Error\(|<module>|\bat 0x[0-9a-f]+", re.I)


@dataclass
class Tally:
    """Requests sent per endpoint (or queue), and the statuses or outcomes they got."""

    sent: Counter[str] = field(default_factory=Counter)
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    waiting: defaultdict[str, float] = field(  # on the service
        default_factory=lambda: defaultdict(float))
    checking: defaultdict[str, float] = field(  # on side-effect reads
        default_factory=lambda: defaultdict(float))

    def add(self, target: str, outcome: str) -> None:
        self.sent[target] += 1
        self.outcomes.setdefault(target, Counter())[outcome] += 1

    def lines(self) -> list[str]:
        return [
            f"{target}: {count} in {self.seconds[target]:.1f} s (service "
            f"{self.waiting[target]:.1f} s, side-effect reads {self.checking[target]:.1f} s); "
            + ", ".join(f"{k}: {v}" for k, v in sorted(self.outcomes[target].items()))
            for target, count in sorted(self.sent.items())
        ]


TALLY = Tally()


@dataclass(frozen=True)
class FuzzRequest:
    headers: dict[str, str]
    body: bytes | None
    kind: str  # how the body was made, for the failure report
    path: str | None = None  # the path with its parameters filled in, if it has any

    def describe(self) -> str:
        shown = {k: (v[:40] + "...") if k == "Authorization" and len(v) > 40 else v
                 for k, v in self.headers.items()}
        body = self.body if self.body is None or len(self.body) < 400 else \
            self.body[:400] + b"...(%d bytes)" % len(self.body)
        return f"[{self.kind}] path={self.path!r} headers={shown!r} body={body!r}"


class Probe:
    """One HTTP session to the service; checks each answer and what it changed."""

    def __init__(self, base_url: str, spec: dict[str, Any], effects: SideEffects) -> None:
        self.base_url = base_url
        self.spec = spec
        self.effects = effects
        self.http = requests.Session()
        self.http.trust_env = False
        self.baseline = effects.snapshot()
        self.endpoints = endpoints(spec)
        self._validators: dict[tuple[str, str, str], jsonschema.Draft202012Validator] = {}
        self._described: dict[tuple[str, str], dict[str, Any]] = {}

    def send(self, endpoint: Endpoint, request: FuzzRequest) -> requests.Response:
        headers = {name: _header_bytes(value) for name, value in request.headers.items()}
        started = time.perf_counter()
        response = self.http.request(endpoint.method,
                                     self.base_url + (request.path or endpoint.path),
                                     headers=headers, data=request.body, timeout=15)
        TALLY.waiting[endpoint.name] += time.perf_counter() - started
        TALLY.add(endpoint.name, str(response.status_code))
        where = _Where(endpoint, request, response)
        assert response.status_code < 500, where
        target = addressed(endpoint, request.path or endpoint.path, self.endpoints)
        if target is None:
            # The host's own "no such route": empty, and nothing reached the service.
            assert response.status_code in (404, 405) and not response.content, where
        else:
            self._check_listed(target, response, where)
            if response.status_code >= 400:
                _check_problem(response, where)
        started = time.perf_counter()
        after = self.effects.snapshot()
        TALLY.checking[endpoint.name] += time.perf_counter() - started
        if 400 <= response.status_code < 500:
            changed = changes(self.baseline, after)
            assert not changed, f"side effect {changed} of {where}"
        self.baseline = after
        return response

    def _check_listed(self, endpoint: Endpoint, response: requests.Response, where: _Where
                      ) -> None:
        """The status and body are ones openapi.yaml lists for the operation."""
        operation = self.spec["paths"][endpoint.path][endpoint.method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], f"status not in openapi.yaml: {where}"
        key = (endpoint.name, status)
        if key not in self._described:
            self._described[key] = resolve(self.spec, operation["responses"][status])
        described = self._described[key]
        for header in described.get("headers", {}):
            assert header in response.headers, f"no {header} header: {where}"
        assert response.headers.get("Cache-Control") == "no-store", where
        if "content" not in described:  # e.g. 204
            assert not response.content, f"a body where none is listed: {where}"
            return
        media = response.headers.get("Content-Type", "").split(";")[0].strip()
        assert media in described["content"], f"media type {media!r}: {where}"
        schema = (endpoint.name, status, media)
        if schema not in self._validators:
            self._validators[schema] = jsonschema.Draft202012Validator(
                described["content"][media]["schema"],
                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        errors = [e.message for e in self._validators[schema].iter_errors(response.json())]
        assert not errors, f"body does not match openapi.yaml ({errors}): {where}"
        assert response.headers.get("X-Content-Type-Options") == "nosniff", where


class _Where:
    """The request and answer, for a failure message: written only when a check fails (the
    answer's text may need its encoding guessed, which costs on every request otherwise)."""

    def __init__(self, endpoint: Endpoint, request: FuzzRequest,
                 response: requests.Response) -> None:
        self.endpoint, self.request, self.response = endpoint, request, response

    def __str__(self) -> str:
        return (f"{self.endpoint.name} -> {self.response.status_code} for "
                f"{self.request.describe()}\nanswer: {self.response.text[:600]!r}")

    __repr__ = __str__


def _check_problem(response: requests.Response, where: _Where) -> None:
    assert response.headers["Content-Type"].startswith("application/problem+json"), where
    problem = json.loads(response.content)
    assert isinstance(problem.get("type"), str) and problem["type"], where
    assert isinstance(problem.get("title"), str) and problem["title"], where
    assert problem.get("status") == response.status_code, where
    assert isinstance(problem.get("detail", ""), str), where
    # Field pointers may echo the caller's own keys; the title and detail are the service's.
    text = f"{problem['title']} {problem.get('detail', '')}"
    assert not _INTERNALS.search(text), f"internals in the problem: {where}"
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), where


def _header_bytes(value: str) -> bytes:
    """As a client could put it on the wire: UTF-8, no line breaks, no leading space."""
    return value.replace("\r", "").replace("\n", "").lstrip(" \t\x0b\x0c").encode(
        "utf-8", "surrogatepass")
