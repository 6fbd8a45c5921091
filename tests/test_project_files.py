"""The deployable files, checked as the Functions host would: schemas, bindings, packaging."""

from __future__ import annotations

import importlib
import inspect
import json
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from shared.config.settings import (
    IDENTITY_EVENTS_DEADLETTER_QUEUE,
    IDENTITY_EVENTS_QUEUE,
    carries_key,
)

FUNCTIONS = ["CreateIdentity", "IssueToken", "SendSms", "SmsOutbox", "MyIdentity",
             "RevokeMyTokens", "UserIdentity", "RevokeUserTokens", "IdentityLookup",
             "IdentityEvents"]


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _host_schema(vendored_specs: Path) -> Any:
    schema = _load(vendored_specs / "functions-schemas" / "host.json")
    # The schema's top-level oneOf has overlapping v2 branches (see its README): use v2.
    schema.pop("oneOf")
    schema["$ref"] = "#/definitions/version-2"
    # The vendored schema predates `telemetryMode`, the host's OpenTelemetry switch that
    # Microsoft documents for Flex Consumption apps: allow exactly the value this app uses.
    schema["definitions"]["version-2"]["properties"]["telemetryMode"] = {"enum": ["OpenTelemetry"]}
    return schema


def test_host_json_valid_against_functions_schema(repo_root: Path, vendored_specs: Path) -> None:
    host = _load(repo_root / "host.json")
    jsonschema.validate(host, _host_schema(vendored_specs))
    assert host["extensionBundle"]["version"] == "[4.*, 5.0.0)"
    assert host["extensions"]["http"]["routePrefix"] == "api"
    assert host["telemetryMode"] == "OpenTelemetry"


@pytest.mark.parametrize(
    "host",
    [{"version": "2.0", "functionTimeout": "forever"}, {"version": "2.0", "telemetryMode": "Otel"}],
)
def test_host_json_schema_check_can_fail(host: dict[str, str], vendored_specs: Path) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(host, _host_schema(vendored_specs))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_json_valid_against_functions_schema(
    name: str, repo_root: Path, vendored_specs: Path
) -> None:
    schema = _load(vendored_specs / "functions-schemas" / "function.json")
    jsonschema.validate(_load(repo_root / name / "function.json"), schema)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_entry_point_binds_like_python_worker(name: str, repo_root: Path) -> None:
    config = _load(repo_root / name / "function.json")
    module = importlib.import_module(name)
    # unwrap: the folder's own function, not the worker's adapter the test session puts there.
    main = inspect.unwrap(getattr(module, config.get("entryPoint", "main")))
    parameters = inspect.signature(main).parameters
    bindings = {b["name"] for b in config["bindings"] if b["name"] != "$return"}
    # The worker matches parameters to bindings by name and resolves their annotations.
    assert set(parameters) == bindings
    hints = typing.get_type_hints(main)
    assert set(hints) - {"return"} == bindings


def test_routes_match_contract(repo_root: Path) -> None:
    routes = {}
    for name in FUNCTIONS:
        for binding in _load(repo_root / name / "function.json")["bindings"]:
            if binding["type"] == "httpTrigger":
                routes[name] = (binding["methods"], binding["route"])
    assert routes == {
        "CreateIdentity": (["post"], "identities"),
        "IssueToken": (["post"], "token"),
        "SendSms": (["post"], "sms"),
        "MyIdentity": (["get", "delete"], "identities/me"),
        "RevokeMyTokens": (["post"], "identities/me/revoke"),
        "UserIdentity": (["get", "delete"], "users/{userKey}/identity"),
        "RevokeUserTokens": (["post"], "users/{userKey}/identity/revoke"),
        # The constraint keeps it off identities/me: the host has no literal-first precedence.
        "IdentityLookup": (["get"], "identities/{communicationUserId:minlength(3)}"),
    }


def test_queue_function_listens_on_sms_outbox(repo_root: Path) -> None:
    bindings = _load(repo_root / "SmsOutbox" / "function.json")["bindings"]
    trigger = next(b for b in bindings if b["type"] == "queueTrigger")
    assert trigger["queueName"] == "sms-outbox"


def test_identity_events_function_queues_match_settings(repo_root: Path) -> None:
    bindings = _load(repo_root / "IdentityEvents" / "function.json")["bindings"]
    queues = {b["type"]: b["queueName"] for b in bindings}
    assert queues == {"queueTrigger": IDENTITY_EVENTS_QUEUE,
                      "queue": IDENTITY_EVENTS_DEADLETTER_QUEUE}
    assert IDENTITY_EVENTS_DEADLETTER_QUEUE == "identity-events-deadletter"


def test_runtime_requirements_hold_no_development_packages(repo_root: Path) -> None:
    runtime = (repo_root / "requirements.txt").read_text().lower()
    # requests is not among them: the shared transport imports it (the proxy case).
    for dev_only in ("pytest", "ruff", "mypy", "jsonschema", "azure-communication",
                     "cryptography", "azure-storage-queue", "pyyaml"):
        assert f"\n{dev_only}" not in f"\n{runtime}", dev_only


def test_funcignore_keeps_development_folders_out(repo_root: Path) -> None:
    ignored = {line.strip() for line in (repo_root / ".funcignore").read_text().splitlines()}
    for folder in ("emulator/", "devhost/", "tests/", "bench/", "specs/", ".venv/",
                   "node_modules/"):
        assert folder in ignored
    for deployed in ("shared/", "host.json", "requirements.txt", *FUNCTIONS):
        assert deployed not in ignored and f"{deployed}/" not in ignored


def test_local_settings_example_holds_no_key(repo_root: Path) -> None:
    values = _load(repo_root / "local.settings.json.example")["Values"]
    assert all(not carries_key(value) for value in values.values())
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
