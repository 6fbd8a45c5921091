"""Reading the Bicep templates offline: parse with pycep-parser, then answer what they deploy.

pycep renders a parameter or variable reference and a string literal alike (both a bare
string), so the readers below resolve names against the file's own parameters and variables.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, cast

from pycep import BicepParser

from shared.config.settings import Settings

Template = dict[str, Any]

# Key-based access in a template: reading a key, a connection string with a key, or one
# written out. Any of these would make the "no key anywhere" promise false.
FORBIDDEN_KEY_USE = re.compile(r"listkeys|listconnectionstrings|accountkey|accesskey", re.I)

ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"


def parse(text: str) -> Template:
    return cast(Template, BicepParser().parse(text=text))


def parse_dir(infra: Path) -> dict[str, Template]:
    """Every .bicep under `infra`, keyed by its path relative to it (e.g. modules/storage.bicep)."""
    return {
        path.relative_to(infra).as_posix(): parse(path.read_text())
        for path in sorted(infra.rglob("*.bicep"))
    }


def key_use(text: str) -> list[str]:
    return [m.group(0) for m in FORBIDDEN_KEY_USE.finditer(text)]


def variable(template: Template, name: str) -> Any:
    return template.get("variables", {})[name]["value"]


def resolve(template: Template, value: Any) -> Any:
    """Follow variable references (recursively, into lists) to their literal values."""
    if isinstance(value, str) and value in template.get("variables", {}):
        return resolve(template, variable(template, value))
    if isinstance(value, list):
        return [resolve(template, item) for item in value]
    return value


def param_default(template: Template, name: str) -> Any:
    return template["parameters"][name].get("default")


def resources_of_type(template: Template, resource_type: str) -> dict[str, Template]:
    return {
        symbol: resource
        for symbol, resource in template.get("resources", {}).items()
        if resource["type"] == resource_type
    }


def body(resource: Template) -> Template:
    """The resource's declaration, under any loop or condition (`config.config`)."""
    config: Template = resource["config"]
    return config["config"] if "loop_type" in config or "condition" in config else config


def loop_array(resource: Template) -> Any:
    """The array a looped resource iterates over, or None."""
    loop = resource["config"].get("loop_type")
    return None if loop is None else loop["detail"]["array_name"]


@dataclass(frozen=True)
class RoleAssignment:
    file: str
    role_id: str
    scope_type: str
    principal: str  # the module parameter naming the principal: appPrincipalId / userPrincipalId
    principal_type: str
    conditional: bool


def role_assignments(templates: dict[str, Template]) -> set[RoleAssignment]:
    """Every role assignment: its role definition GUID, the type of its scope, its principal."""
    found = set()
    for file, template in templates.items():
        for resource in resources_of_type(template, ROLE_ASSIGNMENT).values():
            declared = body(resource)
            definition = declared["properties"]["roleDefinitionId"]["function"]
            found.add(RoleAssignment(
                file=file,
                role_id=resolve(template, definition["parameters"]["resource_name_1"]),
                scope_type=_scope_type(template, declared.get("scope")),
                principal=declared["properties"]["principalId"],
                principal_type=declared["properties"]["principalType"],
                conditional=_conditional(resource),
            ))
    return found


def _scope_type(template: Template, scope: Any) -> str:
    if scope is None:
        return "resourceGroup"
    if isinstance(scope, dict):  # tables[i]: an element of a looped resource
        scope = scope["operator"]["operands"]["operand_1"]
    return str(template["resources"][scope]["type"])


def _conditional(resource: Template) -> bool:
    """Deployed only when a principal is given: an `if`, or a loop over an emptied array."""
    if resource["config"].get("condition") is not None:
        return True
    array = loop_array(resource)
    return isinstance(array, dict) and array.get("operator", {}).get("type") == "conditional"


def app_settings(main: Template, function_app: Template) -> dict[str, Any]:
    """The function app's settings: the service's (from main.bicep) and the host's."""
    service = main["modules"]["api"]["config"]["params"]["serviceSettings"]
    resource = resources_of_type(function_app, "Microsoft.Web/sites/config")["appSettings"]
    merged = body(resource)["properties"]["function"]
    assert merged["type"] == "union" and merged["parameters"]["arg_1"] == "serviceSettings"
    return {**service, **merged["parameters"]["arg_2"]}


def settings_read(settings_py: Path) -> set[str]:
    """Every setting name the settings reader looks up (`_get`, `_required`, `_parse`)."""
    names = set()
    for node in ast.walk(ast.parse(settings_py.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("_get", "_required", "_parse")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def table_names() -> set[str]:
    """The default of every `*_table_name` setting: the tables the service uses."""
    return {str(f.default) for f in fields(Settings) if f.name.endswith("_table_name")}


def queue_names(repo_root: Path) -> set[str]:
    """Every queue a function binds, plus the poison queue the host makes for each trigger."""
    names = set()
    for path in repo_root.glob("*/function.json"):
        for binding in json.loads(path.read_text())["bindings"]:
            if binding["type"] in ("queue", "queueTrigger"):
                names.add(binding["queueName"])
            if binding["type"] == "queueTrigger":
                names.add(f"{binding['queueName']}-poison")
    return names


def created_storage(main: Template, storage: Template) -> dict[str, set[str]]:
    """Tables and queues the storage module creates, as main.bicep calls it."""
    params = main["modules"]["storage"]["config"]["params"]
    created = {}
    for kind, param in (("tables", "tableNames"), ("queues", "queueNames")):
        resource_type = f"Microsoft.Storage/storageAccounts/{kind[:-1]}Services/{kind}"
        loops = [loop_array(r) for r in resources_of_type(storage, resource_type).values()]
        # The module creates one resource per element of its parameter, nothing else.
        created[kind] = set(resolve(main, params[param])) if loops == [param] else set()
    return created
