"""Parsing ACS's 202 answer to a send call: anything unusable is a 502, never a 500 or a guess.

Tested on the parsing function itself: the emulator answers a well-formed 202 or an injected
error, never a garbled 202, so there is no real component to produce these bodies.
"""

from __future__ import annotations

import json

import pytest

from shared.errors import UpstreamError
from shared.sms.client import Outgoing, parse_results

BATCH = [Outgoing(to="+14255550100", request_id="id-0", first_sent="x", attempt=2)]


def _item(**fields: object) -> bytes:
    return json.dumps({"value": [{"to": "+14255550100", **fields}]}).encode()


GARBLED: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("html", b"<html>Service Unavailable</html>"),
    ("not-utf8", b"\xff\xfe\x00"),
    ("truncated", b'{"value": [{"to": "+14255550100", "httpSt'),
    ("deep", b"[" * 100_000 + b"]" * 100_000),
    ("array", b"[]"),
    ("value-object", b'{"value": {"to": "+14255550100"}}'),
    ("value-null", b'{"value": null}'),
    ("item-string", b'{"value": ["+14255550100"]}'),
    ("to-list", b'{"value": [{"to": ["+14255550100"], "httpStatusCode": 202}]}'),
    ("to-missing", _item()),
    ("other-recipient", json.dumps({"value": [{"to": "+14255550199",
                                               "httpStatusCode": 202}]}).encode()),
    ("status-missing", _item(successful=True)),
    ("status-text", _item(httpStatusCode="202", successful=True)),
    ("status-bool", _item(httpStatusCode=True, successful=True)),
]


@pytest.mark.parametrize(("case", "body"), GARBLED, ids=[c for c, _ in GARBLED])
def test_parse_results_garbled_202_upstream_error(case: str, body: bytes) -> None:
    with pytest.raises(UpstreamError) as caught:
        parse_results(body, BATCH)

    assert caught.value.status == 502
    assert "+1425" not in caught.value.detail and "value" not in caught.value.detail


def test_parse_results_well_formed_per_recipient() -> None:
    body = _item(httpStatusCode=202, successful=True, messageId="m-1", extra={"x": 1})

    (result,) = parse_results(body, BATCH)

    assert result.successful and result.http_status == 202 and result.message_id == "m-1"
    assert result.attempt == 2 and result.error is None
