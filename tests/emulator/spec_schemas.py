"""Turns the Swagger 2.0 definitions in acs-rest-specs into JSON Schema validators, with the
relative `$ref`s into Common/ resolved through a `referencing` registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4


class SpecSchemas:
    """Every spec file as a registry resource keyed by its file URI."""

    def __init__(self, specs_dir: Path) -> None:
        self.specs_dir = specs_dir
        resources = []
        self.documents: dict[str, dict[str, Any]] = {}
        for path in sorted(specs_dir.glob("*/stable/*/*.json")):
            document = json.loads(path.read_text())
            uri = path.resolve().as_uri()
            self.documents[uri] = document
            resources.append((uri, Resource.from_contents(document,
                                                          default_specification=DRAFT4)))
        self.registry: Registry[Any] = Registry().with_resources(resources)

    def uri(self, relative: str) -> str:
        return (self.specs_dir / relative).resolve().as_uri()

    def response_schema(self, spec: str, path: str, method: str, status: int | str
                        ) -> dict[str, Any]:
        """The response schema the spec declares for `status`, or its `default` one."""
        uri = self.uri(spec)
        responses = self.documents[uri]["paths"][path][method]["responses"]
        declared = responses.get(str(status)) or responses["default"]
        ref = declared["schema"]["$ref"]
        return {"$ref": urljoin(uri, ref)}

    def definition(self, spec: str, name: str) -> dict[str, Any]:
        return {"$ref": f"{self.uri(spec)}#/definitions/{name}"}

    def validate(self, schema: dict[str, Any], instance: Any) -> None:
        Draft4Validator(schema, registry=self.registry,
                        format_checker=Draft4Validator.FORMAT_CHECKER).validate(instance)

    def has_response(self, spec: str, path: str, method: str, status: int) -> bool:
        responses = self.documents[self.uri(spec)]["paths"][path][method]["responses"]
        return str(status) in responses
