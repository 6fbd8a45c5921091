"""Reading host.json and function.json: defaults, TimeSpans, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.app import AppError, HostConfig, QueueOptions, load_app, parse_timespan
from devhost.loader import module_name
from tests.devhost.apps import AppFolder


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("00:00:30", 30.0), ("00:01:00", 60.0), ("1.02:00:00", 93600.0), ("00:00:00.250", 0.25),
     (1500, 1.5)],
)
def test_app_parse_timespan_values_seconds(value: object, seconds: float) -> None:
    assert parse_timespan(value, name="x") == seconds


def test_app_parse_timespan_garbage_app_error() -> None:
    with pytest.raises(AppError, match="maxPollingInterval"):
        parse_timespan("soon", name="maxPollingInterval")


def test_app_host_json_missing_queue_options_documented_defaults(tmp_path: Path) -> None:
    config = HostConfig.load(tmp_path)

    assert config.route_prefix == "api"
    assert config.queues == QueueOptions(
        message_encoding="base64", batch_size=16, max_polling_interval=60.0,
        visibility_timeout=0.0, max_dequeue_count=5,
    )


def test_app_repository_host_json_options_read(repo_root: Path) -> None:
    config = HostConfig.load(repo_root)

    assert config.route_prefix == "api"
    assert config.queues.max_dequeue_count == 5
    assert config.queues.visibility_timeout == 60.0
    assert config.queues.max_polling_interval == 2.0


def test_app_bad_encoding_app_error(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"queues": {
        "messageEncoding": "utf16"}}}))

    with pytest.raises(AppError, match="messageEncoding"):
        HostConfig.load(tmp_path)


def test_app_repository_functions_all_found(repo_root: Path) -> None:
    app = load_app(repo_root)

    triggers = {f.name: f.trigger_type for f in app.functions}
    assert triggers == {
        "CreateIdentity": "httpTrigger", "IssueToken": "httpTrigger",
        "SendSms": "httpTrigger", "SmsOutbox": "queueTrigger",
        "MyIdentity": "httpTrigger", "RevokeMyTokens": "httpTrigger",
        "UserIdentity": "httpTrigger", "RevokeUserTokens": "httpTrigger",
        "IdentityLookup": "httpTrigger", "IdentityEvents": "queueTrigger",
    }


def test_app_module_name_follows_worker_rules(app: AppFolder) -> None:
    app.function("Pkg", [{"type": "httpTrigger", "direction": "in", "name": "req"}], "",
                 script="handler.py")
    app.function("Init", [{"type": "httpTrigger", "direction": "in", "name": "req"}], "")
    loaded = {f.name: f for f in load_app(app.root).functions}

    assert module_name(loaded["Pkg"], app.root.resolve()) == "__app__.Pkg.handler"
    assert module_name(loaded["Init"], app.root.resolve()) == "__app__.Init"


def test_app_function_json_without_bindings_app_error(app: AppFolder) -> None:
    (app.root / "Bad").mkdir()
    (app.root / "Bad" / "function.json").write_text("{}")

    with pytest.raises(AppError, match=r"Bad/function\.json"):
        load_app(app.root)


@pytest.mark.parametrize(
    ("name", "valid"),
    [("req", True), ("$return", True), ("a" * 128, True), ("Out2", True), ("my_req", False),
     ("1req", False), ("a" * 129, False), ("req\n", False), ("$other", False)],
)
def test_app_binding_name_host_rule_in_error_otherwise(
    app: AppFolder, name: str, valid: bool
) -> None:
    app.function("Named", [{"type": "httpTrigger", "direction": "in", "name": name}], "")

    (spec,) = load_app(app.root).functions

    assert (spec.error is None) is valid
