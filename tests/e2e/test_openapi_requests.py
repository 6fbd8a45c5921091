"""Request-side agreement: a body openapi.yaml allows is never a 400, and a body it refuses is
always a 400, for every operation (the response side is checked by openapi_check)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import azure.functions as func
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import CreateIdentity
import IssueToken
import SendSms
from tests.support import EmulatorClient, http_request, json_body

_SPEC_URI = "urn:openapi"
ENTRY: dict[str, tuple[str, Callable[[func.HttpRequest], func.HttpResponse]]] = {
    "/api/identities": ("identities", CreateIdentity.main),
    "/api/token": ("token", IssueToken.main),
    "/api/sms": ("sms", SendSms.main),
}
SMS = {"to": "+14255550100", "message": "x"}
# (path, raw JSON body): the issue's cases and the edges of each field.
CASES: list[tuple[str, str]] = [
    ("/api/identities", "{}"),
    ("/api/identities", "null"),
    ("/api/identities", "[]"),
    ("/api/identities", '{"displayName": "x"}'),
    ("/api/token", "{}"),
    ("/api/token", "null"),
    ("/api/token", '{"expiresInMinutes": 544}'),
    ("/api/token", '{"expiresInMinutes": 544.0}'),
    ("/api/token", '{"expiresInMinutes": 6e1}'),
    ("/api/token", '{"expiresInMinutes": 544.5}'),
    ("/api/token", '{"expiresInMinutes": 59}'),
    ("/api/token", '{"expiresInMinutes": 1440}'),
    ("/api/token", '{"expiresInMinutes": true}'),
    ("/api/token", '{"expiresInMinutes": "60"}'),
    ("/api/token", '{"scopes": ["chat"]}'),
    ("/api/token", '{"scopes": ["chat", "chat"]}'),
    ("/api/token", '{"scopes": []}'),
    ("/api/token", '{"scopes": ["admin"]}'),
    ("/api/token", '{"scopes": "chat"}'),
    ("/api/token", '{"other": 1}'),
    ("/api/sms", json.dumps(SMS)),
    ("/api/sms", "null"),
    ("/api/sms", json.dumps({**SMS, "to": "+12"})),
    ("/api/sms", json.dumps({**SMS, "to": "+999 1234 5678"})),
    ("/api/sms", json.dumps({**SMS, "to": "+(((---)))"})),
    ("/api/sms", json.dumps({**SMS, "to": "+1 (425) 555-0100"})),
    ("/api/sms", json.dumps({**SMS, "to": "+"})),
    ("/api/sms", json.dumps({**SMS, "to": "14255550100"})),
    ("/api/sms", json.dumps({**SMS, "to": "+14255550100\n"})),
    ("/api/sms", json.dumps({**SMS, "to": ["+14255550100", "+14255550100"]})),
    ("/api/sms", json.dumps({**SMS, "to": []})),
    ("/api/sms", json.dumps({**SMS, "message": " \t"})),
    ("/api/sms", json.dumps({**SMS, "message": ""})),
    ("/api/sms", json.dumps({**SMS, "tag": "t" * 128})),
    ("/api/sms", json.dumps({**SMS, "tag": "t" * 129})),
    ("/api/sms", json.dumps({**SMS, "tag": "a\u0007b"})),
    ("/api/sms", json.dumps({**SMS, "enableDeliveryReport": 1})),
    ("/api/sms", json.dumps({**SMS, "idempotencyKey": "k"})),
]


def _request_validator(spec: dict[str, Any], path: str) -> jsonschema.Draft202012Validator:
    pointer = "/".join(["paths", path.replace("/", "~1"), "post", "requestBody", "content",
                        "application~1json", "schema"])
    registry: Registry[Any] = Registry().with_resource(
        _SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
    return jsonschema.Draft202012Validator({"$ref": f"{_SPEC_URI}#/{pointer}"},
                                           registry=registry)


@pytest.mark.parametrize(("path", "raw"), CASES)
def test_openapi_request_body_allowed_iff_service_accepts(
    path: str, raw: str, openapi: dict[str, Any], app_env: dict[str, str],
    emulator: EmulatorClient,
) -> None:
    documented = _request_validator(openapi, path).is_valid(json.loads(raw))
    route, main = ENTRY[path]
    token = emulator.mint("agreement", roles=["Sms.Send"])

    response = main(http_request("POST", route, token=token, raw=raw.encode(),
                                 headers={"Content-Type": "application/json"}))

    assert (response.status_code != 400) == documented, (
        response.status_code, json_body(response))
    assert response.status_code < 500


@pytest.mark.parametrize(("key", "documented"), [
    ("k-1", True), ("k 1", True), (" k", False), ("k\n", False), ("é", False), ("", False),
])
def test_openapi_idempotency_key_pattern_agrees_with_service(
    key: str, documented: bool, openapi: dict[str, Any], app_env: dict[str, str],
    emulator: EmulatorClient,
) -> None:
    (parameter,) = openapi["paths"]["/api/sms"]["post"]["parameters"]
    assert jsonschema.Draft202012Validator(parameter["schema"]).is_valid(key) == documented
    response = SendSms.main(http_request(
        "POST", "sms", token=emulator.mint("agreement", roles=["Sms.Send"]), body=SMS,
        headers={"Idempotency-Key": key}))
    assert (response.status_code != 400) == documented
