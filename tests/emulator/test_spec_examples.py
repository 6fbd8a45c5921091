"""Replays every example in acs-rest-specs against the emulator and validates each answer
against the spec's own schema for that status code."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from emulator.client import EmulatorClient
from tests.emulator.acs_http import AcsHttp, identity_path, rfc1123
from tests.emulator.spec_schemas import SpecSchemas

IDENTITY = "Identity/stable/2023-10-01/CommunicationIdentity.json"
SMS_2021 = "Sms/stable/2021-03-07/communicationservicessms.json"
SMS_2026 = "Sms/stable/2026-01-23/communicationservicessms.json"
COMMON = "Common/stable/2022-07-13/common.json"

# Every example file of the APIs the emulator serves is replayed by the test named here; a new
# file fails the guard test.
EMULATED_APIS = ("Identity", "Sms")
REPLAYED = {
    "Identity/stable/2023-10-01/examples/CreateIdentity.json": "test_example_create_identity",
    "Identity/stable/2023-10-01/examples/DeleteIdentity.json": "test_example_delete_identity",
    "Identity/stable/2023-10-01/examples/IssueAccessToken.json": "test_example_issue_token",
    "Identity/stable/2023-10-01/examples/RevokeAccessTokens.json": "test_example_revoke_tokens",
    "Identity/stable/2023-10-01/examples/ExchangeTeamsUserAccessToken.json":
        "test_example_teams_exchange",
    "Sms/stable/2021-03-07/examples/send.json": "test_example_sms_send",
    "Sms/stable/2026-01-23/examples/SmsSend.json": "test_example_sms_send",
    "Sms/stable/2026-01-23/examples/OptOutAdd.json": "test_example_opt_out_add_remove",
    "Sms/stable/2026-01-23/examples/OptOutRemove.json": "test_example_opt_out_add_remove",
    "Sms/stable/2026-01-23/examples/OptOutCheck.json": "test_example_opt_out_check",
    "Sms/stable/2026-01-23/examples/DeliveryReportGet.json": "test_example_delivery_report",
}


def _example(specs_dir: Path, relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((specs_dir / relative).read_text())
    return loaded


def _check(schemas: SpecSchemas, spec: str, path: str, method: str, response: Any,
           expected_status: int) -> Any:
    assert response.status_code == expected_status, response.text
    body = response.json()
    schemas.validate(schemas.response_schema(spec, path, method, expected_status), body)
    return body


def test_examples_every_file_is_replayed_by_a_test(specs_dir: Path) -> None:
    on_disk = {str(path.relative_to(specs_dir)) for api in EMULATED_APIS
               for path in specs_dir.glob(f"{api}/stable/*/examples/*.json")}
    assert on_disk == set(REPLAYED)
    assert all(name in globals() for name in REPLAYED.values())


# ---- Identity 2023-10-01


def test_example_create_identity(acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path) -> None:
    example = _example(specs_dir, "Identity/stable/2023-10-01/examples/CreateIdentity.json")
    parameters = example["parameters"]
    before = dt.datetime.now(dt.UTC)
    response = acs.call("POST", "/identities", parameters["body"],
                        api_version=parameters["api-version"])
    body = _check(schemas, IDENTITY, "/identities", "post", response, 201)
    assert set(body) == set(example["responses"]["201"]["body"])
    assert body["identity"]["id"].startswith("8:acs:")
    expires = dt.datetime.fromisoformat(body["accessToken"]["expiresOn"])
    # expiresInMinutes 60 in the example.
    assert dt.timedelta(minutes=59) < expires - before < dt.timedelta(minutes=61)


def test_example_create_identity_without_scopes_returns_identity_only(
    acs: AcsHttp, schemas: SpecSchemas
) -> None:
    response = acs.call("POST", "/identities")
    body = _check(schemas, IDENTITY, "/identities", "post", response, 201)
    assert "accessToken" not in body


def test_example_issue_token(acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path) -> None:
    example = _example(specs_dir, "Identity/stable/2023-10-01/examples/IssueAccessToken.json")
    parameters = example["parameters"]
    identity_id = acs.create_identity()
    response = acs.call("POST", identity_path(identity_id, "issueAccessToken"),
                        parameters["body"], api_version=parameters["api-version"])
    body = _check(schemas, IDENTITY, "/identities/{id}/:issueAccessToken", "post", response, 200)
    assert set(body) == set(example["responses"]["200"]["body"])


@pytest.mark.parametrize(
    ("relative", "method", "action", "path"),
    [
        ("Identity/stable/2023-10-01/examples/DeleteIdentity.json", "DELETE", "",
         "/identities/{id}"),
        ("Identity/stable/2023-10-01/examples/RevokeAccessTokens.json", "POST",
         "revokeAccessTokens", "/identities/{id}/:revokeAccessTokens"),
        ("Identity/stable/2023-10-01/examples/IssueAccessToken.json", "POST",
         "issueAccessToken", "/identities/{id}/:issueAccessToken"),
    ],
)
def test_example_identity_of_other_resource_is_identity_not_owned(
    acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path, relative: str, method: str,
    action: str, path: str,
) -> None:
    """The examples' own ids belong to another resource: ACS answers 401 IdentityNotOwned."""
    parameters = _example(specs_dir, relative)["parameters"]
    response = acs.call(method, identity_path(parameters["id"], action), parameters.get("body"),
                        api_version=parameters["api-version"])
    body = _check(schemas, IDENTITY, path, method.lower(), response, 401)
    assert body["error"]["code"] == "IdentityNotOwned"


def test_example_delete_identity(acs: AcsHttp, emulator: EmulatorClient,
                                 specs_dir: Path) -> None:
    parameters = _example(specs_dir, "Identity/stable/2023-10-01/examples/DeleteIdentity.json")[
        "parameters"]
    identity_id = acs.create_identity()
    response = acs.call("DELETE", identity_path(identity_id),
                        api_version=parameters["api-version"])
    assert response.status_code == 204
    assert response.content == b""
    assert [item["state"] for item in emulator.identities()] == ["deleted"]


def test_example_revoke_tokens(acs: AcsHttp, emulator: EmulatorClient, specs_dir: Path) -> None:
    parameters = _example(
        specs_dir, "Identity/stable/2023-10-01/examples/RevokeAccessTokens.json")["parameters"]
    identity_id = acs.create_identity()
    response = acs.call("POST", identity_path(identity_id, "revokeAccessTokens"),
                        api_version=parameters["api-version"])
    assert response.status_code == 204
    assert response.content == b""
    assert "tokensRevokedAt" in emulator.identities()[0]


def test_example_teams_exchange(acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path) -> None:
    """Left out on purpose (no Teams or Entra ID offline): a documented error, in the spec's
    default error shape."""
    parameters = _example(
        specs_dir, "Identity/stable/2023-10-01/examples/ExchangeTeamsUserAccessToken.json"
    )["parameters"]
    response = acs.call("POST", "/teamsUser/:exchangeAccessToken", parameters["body"],
                        api_version=parameters["api-version"])
    body = _check(schemas, IDENTITY, "/teamsUser/:exchangeAccessToken", "post", response, 501)
    assert body["error"]["code"] == "NotImplementedInEmulator"


# ---- SMS send, 2021-03-07 and 2026-01-23


def _fresh_send_request(example: dict[str, Any], sender: str) -> dict[str, Any]:
    """The example's request with our sender and a current first-sent date: the example's
    2019 date is far outside the 5-minute repeatability window (see the 412 test)."""
    request: dict[str, Any] = copy.deepcopy(example["parameters"]["SendMessageRequest"])
    request["from"] = sender
    for recipient in request["smsRecipients"]:
        if "repeatabilityFirstSent" in recipient:
            recipient["repeatabilityFirstSent"] = rfc1123()
    return request


@pytest.mark.parametrize(
    ("relative", "spec"),
    [("Sms/stable/2021-03-07/examples/send.json", SMS_2021),
     ("Sms/stable/2026-01-23/examples/SmsSend.json", SMS_2026)],
)
def test_example_sms_send(acs: AcsHttp, emulator: EmulatorClient, schemas: SpecSchemas,
                          specs_dir: Path, relative: str, spec: str) -> None:
    example = _example(specs_dir, relative)
    request = _fresh_send_request(example, acs.settings["SMS_FROM"])
    response = acs.call("POST", "/sms", request, api_version=example["parameters"]["api-version"])
    body = _check(schemas, spec, "/sms", "post", response, 202)
    expected = example["responses"]["202"]["body"]["value"]
    assert [item["to"] for item in body["value"]] == [item["to"] for item in expected]
    for index, (got, want) in enumerate(zip(body["value"], expected, strict=True)):
        if want["to"] == "+11234567892":
            # The example shows a transient 503 for this recipient; nothing in the request
            # causes it, so the emulator sends it (fault injection covers 5xx separately).
            assert got["successful"] is True and got["httpStatusCode"] == 202
            continue
        for name in ("httpStatusCode", "successful", "repeatabilityResult", "errorMessage"):
            assert got.get(name) == want.get(name), (index, name, got)
        assert ("messageId" in got) == got["successful"]
    sent = [entry["to"] for entry in emulator.sms()]
    assert sent == ["+11234567890", "+11234567891", "+11234567892", "+11234567893"]


def test_example_sms_send_recipient_fault_reproduces_example_503(
    acs: AcsHttp, emulator: EmulatorClient, schemas: SpecSchemas, specs_dir: Path
) -> None:
    """With a recipient fault on the number the example shows failing 503, every item
    matches the example's (message ids aside), and that number is not sent."""
    example = _example(specs_dir, "Sms/stable/2026-01-23/examples/SmsSend.json")
    emulator.fault("sms.send.recipient", 503, to="+11234567892")
    request = _fresh_send_request(example, acs.settings["SMS_FROM"])
    response = acs.call("POST", "/sms", request, api_version="2026-01-23")
    body = _check(schemas, SMS_2026, "/sms", "post", response, 202)
    expected = example["responses"]["202"]["body"]["value"]
    for got, want in zip(body["value"], expected, strict=True):
        assert {k: v for k, v in got.items() if k != "messageId"} \
            == {k: v for k, v in want.items() if k != "messageId"}
        assert ("messageId" in got) == ("messageId" in want)
    assert [entry["to"] for entry in emulator.sms()] == ["+11234567890", "+11234567891",
                                                         "+11234567893"]


def test_example_sms_send_original_first_sent_is_outside_window_412(
    acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path
) -> None:
    """Replayed verbatim (2019 first-sent), the repeatable item is refused 412: the emulator
    cannot know whether a request first sent years ago was processed."""
    example = _example(specs_dir, "Sms/stable/2026-01-23/examples/SmsSend.json")
    request = copy.deepcopy(example["parameters"]["SendMessageRequest"])
    request["from"] = acs.settings["SMS_FROM"]
    response = acs.call("POST", "/sms", request, api_version="2026-01-23")
    body = _check(schemas, SMS_2026, "/sms", "post", response, 202)
    item = body["value"][4]
    assert item["httpStatusCode"] == 412 and item["repeatabilityResult"] == "rejected"


def test_example_sms_send_bad_request_400_matches_spec(
    acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path
) -> None:
    example = _example(specs_dir, "Sms/stable/2026-01-23/examples/SmsSend.json")
    request = _fresh_send_request(example, acs.settings["SMS_FROM"])
    request["smsRecipients"] = []
    response = acs.call("POST", "/sms", request, api_version="2026-01-23")
    body = _check(schemas, SMS_2026, "/sms", "post", response, 400)
    assert set(example["responses"]["400"]["body"]) <= set(body)
    assert "SmsRecipients" in body["errors"]


def test_example_sms_send_unauthorized_401_matches_spec(
    acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path
) -> None:
    example = _example(specs_dir, "Sms/stable/2026-01-23/examples/SmsSend.json")
    request = _fresh_send_request(example, acs.settings["SMS_FROM"])
    response = acs.call("POST", "/sms", request, api_version="2026-01-23", auth="none")
    _check(schemas, SMS_2026, "/sms", "post", response, 401)


# ---- Opt-outs, 2026-01-23


def _opt_out_body(example: dict[str, Any], sender: str) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(example["parameters"]["body"])
    body["from"] = sender
    return body


def _compare_opt_out_items(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert [item["to"] for item in got] == [item["to"] for item in want]
    for got_item, want_item in zip(got, want, strict=True):
        if want_item["httpStatusCode"] == 500:
            # The example shows a random internal error for this number; the emulator has no
            # such failure, so the item succeeds (its shape is still checked by the schema).
            assert got_item["httpStatusCode"] == 200
            continue
        assert got_item == want_item


@pytest.mark.parametrize(("name", "operation"), [("OptOutAdd", "add"), ("OptOutRemove", "remove")])
def test_example_opt_out_add_remove(acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path,
                                    name: str, operation: str) -> None:
    example = _example(specs_dir, f"Sms/stable/2026-01-23/examples/{name}.json")
    path = f"/sms/optouts:{operation}"
    body = _opt_out_body(example, acs.settings["SMS_FROM"])
    response = acs.call("POST", path, body, api_version=example["parameters"]["api-version"])
    got = _check(schemas, SMS_2026, path, "post", response, 200)
    _compare_opt_out_items(got["value"], example["responses"]["200"]["body"]["value"])


def test_example_opt_out_add_bad_sender_400_matches_spec(
    acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path
) -> None:
    example = _example(specs_dir, "Sms/stable/2026-01-23/examples/OptOutAdd.json")
    body = _opt_out_body(example, "not-a-number")
    response = acs.call("POST", "/sms/optouts:add", body, api_version="2026-01-23")
    got = _check(schemas, SMS_2026, "/sms/optouts:add", "post", response, 400)
    assert got["errors"] == example["responses"]["400"]["body"]["errors"]


@pytest.mark.parametrize("name", ["OptOutAdd", "OptOutCheck"])
def test_example_opt_out_tampered_body_401_matches_spec(
    acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path, name: str
) -> None:
    example = _example(specs_dir, f"Sms/stable/2026-01-23/examples/{name}.json")
    path = "/sms/optouts:" + name.removeprefix("OptOut").lower()
    body = _opt_out_body(example, acs.settings["SMS_FROM"])
    tampered = json.dumps({**body, "recipients": [{"to": "+15555555559"}]}).encode()
    response = acs.call("POST", path, body, api_version="2026-01-23", sent_body=tampered)
    got = _check(schemas, SMS_2026, path, "post", response, 401)
    assert got == example["responses"]["401"]["body"]


def test_example_opt_out_remove_errors_match_spec(
    acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path
) -> None:
    example = _example(specs_dir, "Sms/stable/2026-01-23/examples/OptOutRemove.json")
    body = _opt_out_body(example, acs.settings["SMS_FROM"])
    wrong_version = acs.call("POST", "/sms/optouts:remove", body,
                             api_version="2024-12-10w-preview")
    got = _check(schemas, SMS_2026, "/sms/optouts:remove", "post", wrong_version, 400)
    assert got["error"]["code"] == example["responses"]["400"]["body"]["error"]["code"]
    unauthenticated = acs.call("POST", "/sms/optouts:remove", body, api_version="2026-01-23",
                               auth="none")
    _check(schemas, SMS_2026, "/sms/optouts:remove", "post", unauthenticated, 401)


def test_example_opt_out_check(acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path) -> None:
    example = _example(specs_dir, "Sms/stable/2026-01-23/examples/OptOutCheck.json")
    sender = acs.settings["SMS_FROM"]
    added = acs.call("POST", "/sms/optouts:add",
                     {"from": sender, "recipients": [{"to": "+15555555551"}]},
                     api_version="2026-01-23")
    assert added.status_code == 200
    body = _opt_out_body(example, sender)
    response = acs.call("POST", "/sms/optouts:check", body, api_version="2026-01-23")
    got = _check(schemas, SMS_2026, "/sms/optouts:check", "post", response, 200)
    want = example["responses"]["200"]["body"]["value"]
    _compare_opt_out_items(got["value"][:3], want[:3])
    assert got["value"][3] == {"to": "+15555555553", "httpStatusCode": 200, "isOptedOut": False}
    missing_version = acs.call("POST", "/sms/optouts:check", body, api_version=None)
    got = _check(schemas, SMS_2026, "/sms/optouts:check", "post", missing_version, 400)
    assert got["error"]["code"] == example["responses"]["400"]["body"]["error"]["code"]


# ---- Delivery reports, 2026-01-23


def test_example_delivery_report(acs: AcsHttp, schemas: SpecSchemas, specs_dir: Path) -> None:
    example = _example(specs_dir, "Sms/stable/2026-01-23/examples/DeliveryReportGet.json")
    path = "/deliveryReports/{outgoingMessageId}"
    sent = acs.call("POST", "/sms", {
        "from": acs.settings["SMS_FROM"], "smsRecipients": [{"to": "+14255550123"}],
        "message": "hello", "smsSendOptions": {"enableDeliveryReport": True,
                                               "tag": "customer-tag"},
    }, api_version="2026-01-23")
    message_id = sent.json()["value"][0]["messageId"]
    response = acs.call("GET", f"/deliveryReports/{message_id}", api_version="2026-01-23")
    report = _check(schemas, SMS_2026, path, "get", response, 200)
    assert set(report) == set(example["responses"]["200"]["body"])
    assert report["deliveryStatus"] == "Delivered"
    assert (report["messageId"], report["to"], report["tag"]) == (
        message_id, "+14255550123", "customer-tag")
    unknown = acs.call("GET", f"/deliveryReports/{example['parameters']['outgoingMessageId']}",
                       api_version=example["parameters"]["api-version"])
    missing = _check(schemas, SMS_2026, path, "get", unknown, 404)
    want = example["responses"]["404"]["body"]
    assert {name: missing[name] for name in ("type", "title", "status")} == {
        name: want[name] for name in ("type", "title", "status")}


def test_example_errors_validate_against_common_error_schema(
    acs: AcsHttp, schemas: SpecSchemas
) -> None:
    response = acs.call("POST", "/identities", api_version=None)
    assert response.status_code == 400
    schemas.validate(schemas.definition(COMMON, "CommunicationErrorResponse"), response.json())
    assert response.json()["error"]["code"] == "ApiVersionUnspecified"
