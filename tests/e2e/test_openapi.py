"""openapi.yaml is a valid OpenAPI document and describes exactly the app's HTTP functions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from openapi_spec_validator import validate

from devhost.app import load_app
from tests.e2e.openapi_check import check_response


def test_openapi_document_valid_openapi(openapi: dict[str, Any]) -> None:
    validate(openapi)


def test_openapi_paths_match_function_routes_and_methods(
    openapi: dict[str, Any], repo_root: Path
) -> None:
    app = load_app(repo_root)
    # OpenAPI paths carry no route constraints: `{id:minlength(3)}` is documented as `{id}`.
    routes = {
        (re.sub(r"\{(\w+):[^}]*\}", r"{\1}", f"/{app.host.route_prefix}/{f.trigger['route']}"),
         method.lower())
        for f in app.functions if f.trigger_type == "httpTrigger"
        for method in f.trigger["methods"]
    }

    documented = {
        (path, method) for path, item in openapi["paths"].items() for method in item
    }

    assert documented == routes


def test_openapi_every_error_is_problem_json(openapi: dict[str, Any]) -> None:
    responses = openapi["components"]["responses"]
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                described = responses[response["$ref"].split("/")[-1]]
                assert list(described["content"]) == ["application/problem+json"], (
                    f"{method} {path} {status}"
                )


def test_openapi_check_response_undescribed_body_or_status_fails(
    openapi: dict[str, Any]
) -> None:
    response = requests.Response()
    response.request = requests.Request("POST", "http://localhost/api/token").prepare()
    response.headers["Content-Type"] = "application/json"
    response._content = json.dumps({"token": "t", "communicationUserId": "8:acs:x"}).encode()
    response.status_code = 200

    with pytest.raises(jsonschema.ValidationError, match="expiresOn"):
        check_response(openapi, response)
    response.status_code = 418
    with pytest.raises(AssertionError, match="not listed"):
        check_response(openapi, response)


def test_openapi_check_response_templated_path_and_204_body_fails(
    openapi: dict[str, Any]
) -> None:
    response = requests.Response()
    response.request = requests.Request(
        "POST", "http://localhost/api/users/sub%3Aalice/identity/revoke").prepare()
    response.status_code = 204
    response._content = b""
    check_response(openapi, response)  # the template /api/users/{userKey}/... describes it

    response._content = b"null"
    with pytest.raises(AssertionError, match="without a body"):
        check_response(openapi, response)
    response.request = requests.Request("PUT", "http://localhost/api/users/x/identity").prepare()
    with pytest.raises(AssertionError, match="not described"):
        check_response(openapi, response)
