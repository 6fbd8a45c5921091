"""The function-level tests' calls run in azure-functions-runtime-v1 (tests/conftest.py)."""

from __future__ import annotations

import inspect
import json
import traceback
from typing import Any

import pytest

import IssueToken
import SmsOutbox
from devhost.direct import http_request
from devhost.inprocess import FunctionFailed, entry_point
from devhost.worker import local_worker_python
from shared.errors import Conflict, UpstreamUnavailable
from tests.sms.support import Output, queue_message


def _worker_report(error: BaseException) -> str:
    """What the worker sends for a function that raised: `Type: message`, then the trace."""
    trace = "".join(traceback.format_exception(error))
    return f"{type(error).__name__}: {error}\n{trace}"


def _raise(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as raised:  # noqa: BLE001 - only to give it a traceback
        return raised


def test_inprocess_calls_run_by_worker_exactly_when_it_can_run_here(
    app_env: dict[str, str],
) -> None:
    response = IssueToken.main(http_request("POST", "token"))  # no caller token

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    if local_worker_python():
        from azure_functions_runtime_v1 import handle_event

        assert IssueToken.main.__module__ == "devhost.inprocess"
        loaded = {info.name for info in handle_event._functions._functions.values()}
        assert {"IssueToken", "SendSms", "SmsOutbox", "IdentityEvents"} <= loaded
    else:
        assert IssueToken.main.__module__ == "IssueToken"


@pytest.mark.parametrize("error", [UpstreamUnavailable("ACS is busy"), Conflict("taken"),
                                   RuntimeError("line one\nline two")],
                         ids=["service-error", "service-error-message", "multi-line"])
def test_inprocess_failure_report_names_the_class_raised(error: Exception) -> None:
    failed = FunctionFailed(_worker_report(_raise(error)))

    assert failed.exception_type == type(error).__name__
    assert failed.raised() is type(error)
    assert failed.detail == str(error).split("\n", 1)[0]


def test_inprocess_failure_report_of_unknown_class_resolves_to_none() -> None:
    failed = FunctionFailed("Gone: x\nTraceback (most recent call last):\nnowhere.Gone: x")

    assert failed.exception_type == "Gone"
    assert failed.raised() is None


class _NeverInvoked:
    """Stands for a loaded function: the check under test must refuse before any invocation."""

    trigger_name = "msg"

    def invoke(self, trigger: object) -> None:
        raise AssertionError("invoked despite an argument the host never passes")


def test_inprocess_argument_not_an_output_binding_type_error_before_invocation() -> None:
    never: Any = _NeverInvoked()
    main = entry_point(never, inspect.unwrap(SmsOutbox.main))

    with pytest.raises(TypeError, match="deadletter is not an output binding"):
        main(queue_message({"to": [], "message": "x"}), "not an Out")


def test_inprocess_queue_output_binding_set_from_function_answer(app_env: dict[str, str]) -> None:
    out = Output()

    SmsOutbox.main(queue_message({"to": "not a list", "message": "x"}), out)

    assert out.value is not None
    assert [error["pointer"] for error in json.loads(out.value)["errors"]] == ["/to"]
