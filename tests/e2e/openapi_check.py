"""Checks a real HTTP response against openapi.yaml: status listed, media type, body schema."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import requests
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_SPEC_URI = "urn:openapi"


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _documented_path(spec: dict[str, Any], path: str, method: str) -> str:
    """The document's path for a request path: itself, else the template it fills in (one
    segment per parameter), literal paths first as the host routes them."""
    if method in spec["paths"].get(path, {}):
        return path
    for template, item in spec["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if method in item and re.fullmatch(pattern, path):
            return str(template)
    raise AssertionError(f"{method.upper()} {path} is not described")


def check_response(spec: dict[str, Any], response: requests.Response) -> None:
    """Assert the response is one the document describes for its path and method."""
    request = response.request
    method = str(request.method).lower()
    path = _documented_path(spec, request.path_url.split("?")[0], method)
    operation = spec["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {path} {status} is not listed"
    described = _resolve(spec, operation["responses"][status])
    if "content" not in described:  # e.g. 204: nothing may come back
        assert not response.content, f"{status} is described without a body"
        return
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    content = described.get("content", {})
    assert media_type in content, f"{status} answered {media_type!r}, listed {list(content)}"
    for header in described.get("headers", {}):
        assert header in response.headers, f"{status} lacks the {header} header"
    schema_pointer = _pointer(
        "paths", path, method, "responses", status, "content", media_type, "schema"
    )
    if "$ref" in operation["responses"][status]:
        name = operation["responses"][status]["$ref"].split("/")[-1]
        schema_pointer = _pointer(
            "components", "responses", name, "content", media_type, "schema"
        )
    registry: Registry[Any] = Registry().with_resource(
        _SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"{_SPEC_URI}#/{schema_pointer}"},
        registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    validator.validate(response.json())
