"""The fuzzed HTTP endpoints, read from openapi.yaml: one entry per documented operation.

A new operation in openapi.yaml is fuzzed with no change here; `ROLES` only names the app
roles a caller needs to get past authorization, so the body checks are reached too.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devhost.app import load_app
from devhost.routes import Route

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.yaml"

# operationId -> the app roles a caller needs; operations not listed need none.
ROLES: dict[str, tuple[str, ...]] = {
    "sendSms": ("Sms.Send",),
    **{name: ("Identity.Admin",) for name in (
        "lookupIdentity", "getUserIdentity", "deleteUserIdentity", "revokeUserTokens")},
}


_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@dataclass(frozen=True)
class Endpoint:
    operation_id: str
    method: str
    path: str
    body_schema: dict[str, Any] | None  # the application/json request body, refs resolved
    body_required: bool
    headers: tuple[tuple[str, dict[str, Any]], ...]  # documented header parameters
    path_params: tuple[tuple[str, dict[str, Any]], ...]  # `{name}` segments of the path
    roles: tuple[str, ...]
    examples: tuple[Any, ...]  # the documented request body examples

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def load_spec(path: Path = OPENAPI) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(path.read_text())
    return spec


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """`node` with every local `$ref` replaced by what it points at (the spec has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return resolve(spec, target)
        return {key: resolve(spec, value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(spec, item) for item in node]
    return node


def endpoints(spec: dict[str, Any] | None = None) -> list[Endpoint]:
    spec = spec if spec is not None else load_spec()
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            body = resolve(spec, operation.get("requestBody", {}))
            media = body.get("content", {}).get("application/json", {})
            parameters = resolve(spec, [*item.get("parameters", []),
                                        *operation.get("parameters", [])])
            found.append(Endpoint(
                operation_id=operation["operationId"],
                method=method.upper(),
                path=path,
                body_schema=media.get("schema"),
                body_required=bool(body.get("required", False)),
                headers=tuple((p["name"], p.get("schema", {}))
                              for p in parameters if p["in"] == "header"),
                path_params=tuple((p["name"], _with_examples(p))
                                  for p in parameters if p["in"] == "path"),
                roles=ROLES.get(operation["operationId"], ()),
                examples=tuple(example["value"] for example in media.get("examples", {}).values()
                               if "value" in example),
            ))
    return found


def _with_examples(parameter: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema, with the parameter's documented example values in `examples`."""
    schema: dict[str, Any] = dict(parameter.get("schema", {}))
    values = [e["value"] for e in parameter.get("examples", {}).values() if "value" in e]
    if values or "example" in parameter:
        schema["examples"] = [*schema.get("examples", []), *values,
                              *([parameter["example"]] if "example" in parameter else [])]
    return schema


def queue_message_schema(spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """An `sms-outbox` message: the SendSms body plus its `idempotencyKey` (README)."""
    spec = spec if spec is not None else load_spec()
    sms: dict[str, Any] = resolve(spec, spec["components"]["schemas"]["SmsRequest"])
    header = next(p for p in resolve(spec, spec["paths"]["/api/sms"]["post"]["parameters"])
                  if p["name"] == "Idempotency-Key")
    return {**sms, "properties": {**sms["properties"], "idempotencyKey": header["schema"]}}


def addressed(endpoint: Endpoint, path: str, every: list[Endpoint]) -> Endpoint | None:
    """Which operation the Functions host hands `path` to, or None when it answers itself
    (no route matches: an empty or too short path parameter, a dot segment).

    Routes come from the function folders and are tried as the host tries them, by function
    name, with their constraints (devhost.routes), so `identities/me` reaches MyIdentity.
    """
    prefix = "/api"
    if not path.startswith(prefix + "/"):
        return None
    rest = path[len(prefix):]
    if any(segment in (".", "..") for segment in rest.split("/")):
        return None  # the client removes dot segments before sending (encoded ones it keeps)
    for function in _http_functions():
        if endpoint.method.lower() not in function[1]:
            continue
        if function[2].match(rest) is not None:
            documented = prefix + "/" + re.sub(r"\{(\w+):[^}]*\}", r"{\1}", function[2].template)
            return next((e for e in every
                         if e.method == endpoint.method and e.path == documented), None)
    return None


@functools.cache
def _http_functions() -> list[tuple[str, list[str], Route]]:
    app = load_app(Path(__file__).resolve().parents[2])
    found = [(f.name, [m.lower() for m in f.trigger["methods"]], Route(f.trigger["route"]))
             for f in app.functions if f.trigger_type == "httpTrigger"]
    return sorted(found, key=lambda item: item[0].lower())
