"""Whole fuzzed requests for one endpoint: a caller credential, an Idempotency-Key where the
endpoint takes one, and a body, from this tier's strategies and from schemathesis (which
generates bodies and headers valid and invalid by openapi.yaml)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core import NOT_SET

from tests.fuzz.endpoints import OPENAPI, Endpoint, endpoints
from tests.fuzz.probe import FuzzRequest
from tests.fuzz.strategies import (
    Body,
    bodies,
    from_schema,
    hostile_text,
    json_bytes,
    weighted,
)
from tests.fuzz.tokens import Credentials, authorizations

_SCHEMA = schemathesis.openapi.from_path(OPENAPI)
# A few keys used again and again, so replays and reuse for another body (422) happen.
KEY_POOL = ("fuzz-key-1", "fuzz-key-2", "k")


def _header_values(schema: dict[str, Any]) -> st.SearchStrategy[str | None]:
    return weighted(
        (2, st.none()), (1, st.sampled_from(KEY_POOL)), (1, from_schema(schema)),
        (1, hostile_text),
        (1, st.sampled_from(["", " k", "k ", "k" * 128, "k" * 129, "\x7f", "caf\u00e9", "a\tb"])),
    )


def _path_values(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    documented = [str(value) for value in schema.get("examples", [])]
    return weighted((2, from_schema(schema).map(str)), (1, hostile_text),
                    (2 if documented else 0, st.sampled_from(documented or [""])),
                    (1, st.sampled_from(["..", "%2e%2e", "me", "8:acs:x", "a/b", " ", "%00"])))


def _fill(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        # Percent-encoded UTF-8 (surrogates kept as their raw bytes); "%" itself stays, so
        # pre-encoded values like "%2e%2e" reach the host as sent.
        path = path.replace("{" + name + "}", quote(value.encode("utf-8", "surrogatepass"),
                                                    safe="%:"))
    return path


_DOCUMENTED_HEADERS = frozenset(
    name.lower() for endpoint in endpoints() for name, _ in endpoint.headers)


def _from_case(case: Case[Any], authorization: str | None) -> FuzzRequest:
    # Only the headers the document describes: framing is the HTTP client's to write (a
    # generated Content-Length, however spelled, would announce a body that is never sent).
    headers = {k: str(v) for k, v in (case.headers or {}).items()
               if k.strip().lower() in _DOCUMENTED_HEADERS}
    if authorization is not None:
        headers["Authorization"] = authorization
    body: bytes | None = None
    if case.body is not NOT_SET:
        body = case.body if isinstance(case.body, bytes) else json_bytes(case.body)
        if case.media_type:
            headers["Content-Type"] = case.media_type
    return FuzzRequest(headers, body, "schemathesis", case.formatted_path)


def requests_for(endpoint: Endpoint, credentials: Credentials
                 ) -> st.SearchStrategy[FuzzRequest]:
    auth = authorizations(credentials, endpoint.roles)
    valid = (from_schema(endpoint.body_schema, endpoint.examples) if endpoint.body_schema
             else st.just({}))
    # Built once: a strategy built inside a draw is built again for every request.
    header_values = {name: _header_values(schema) for name, schema in endpoint.headers}
    path_values = {name: _path_values(schema) for name, schema in endpoint.path_params}
    body_values = bodies(valid)

    @st.composite
    def own(draw: st.DrawFn) -> FuzzRequest:
        headers: dict[str, str] = {}
        for name, values in header_values.items():
            value = draw(values)
            if value is not None:
                headers[name] = value
        authorization = draw(auth)
        if authorization is not None:
            headers["Authorization"] = authorization
        body: Body = draw(body_values)
        if body.content_type is not None:
            headers["Content-Type"] = body.content_type
        path = _fill(endpoint.path, {name: draw(values) for name, values in path_values.items()})
        return FuzzRequest(headers, body.raw, body.kind, path)

    operation = _SCHEMA[endpoint.path][endpoint.method]
    generated = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    from_schemathesis = st.tuples(generated, auth).map(lambda pair: _from_case(*pair))
    # schemathesis generates a case in 15-40 ms, this tier's strategies in a few.
    return weighted((5, own()), (1, from_schemathesis))
