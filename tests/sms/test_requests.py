"""SendSms refuses bad callers and bad requests with 4xx problem+json, and sends nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devhost.direct import json_body
from emulator.client import EmulatorClient
from shared.services import get_services, use_services
from shared.sms.request import SmsRequest, caller_scope
from tests.sms.conftest import SendCall
from tests.sms.support import numbers


def _nothing_sent(emulator: EmulatorClient) -> None:
    assert emulator.counters()["sms.send"] == 0
    assert emulator.sms() == []


def test_sendsms_no_token_401(send: SendCall, emulator: EmulatorClient) -> None:
    response = send({"to": numbers(1), "message": "x"}, token=None)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    _nothing_sent(emulator)


def test_sendsms_invalid_token_401(send: SendCall, emulator: EmulatorClient) -> None:
    forged = emulator.mint("backend-sms", roles=["Sms.Send"])[:-4] + "AAAA"

    assert send({"to": numbers(1), "message": "x"}, token=forged).status_code == 401
    _nothing_sent(emulator)


def test_sendsms_token_without_role_403(send: SendCall, emulator: EmulatorClient) -> None:
    token = emulator.mint("app-user", roles=["Something.Else"])

    response = send({"to": numbers(1), "message": "x"}, token=token)

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    _nothing_sent(emulator)


def test_sendsms_no_role_bad_body_403_before_body(send: SendCall,
                                                  emulator: EmulatorClient) -> None:
    token = emulator.mint("app-user")

    assert send(raw=b"{not json", token=token,
                headers={"Content-Type": "application/json"}).status_code == 403
    _nothing_sent(emulator)


def test_sendsms_role_from_setting_honoured(send: SendCall, emulator: EmulatorClient,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_SEND_ROLE", "Notify.Sms")
    use_services(None)
    body = {"to": numbers(1), "message": "x"}

    assert send(body).status_code == 403  # carries Sms.Send only
    assert send(body, token=emulator.mint("n", roles=["Notify.Sms"])).status_code == 202


BAD_BODIES: list[tuple[str, Any]] = [
    ("array", [{"to": "+14255550100", "message": "x"}]),
    ("no-to", {"message": "x"}),
    ("to-null", {"to": None, "message": "x"}),
    ("to-empty", {"to": [], "message": "x"}),
    ("to-int", {"to": 14255550100, "message": "x"}),
    ("to-national", {"to": "(425) 555-0100", "message": "x"}),
    ("to-plus-only", {"to": "+", "message": "x"}),
    ("to-letters", {"to": ["+1425CALLNOW"], "message": "x"}),
    ("to-nested", {"to": [["+14255550100"]], "message": "x"}),
    ("to-huge-string", {"to": "+1" + "4" * 5000, "message": "x"}),
    ("too-many", {"to": numbers(1001), "message": "x"}),
    ("no-message", {"to": "+14255550100"}),
    ("message-empty", {"to": "+14255550100", "message": ""}),
    ("message-blank", {"to": "+14255550100", "message": "\n \t"}),
    ("message-long", {"to": "+14255550100", "message": "é" * 2049}),
    ("message-number", {"to": "+14255550100", "message": 42}),
    ("tag-empty", {"to": "+14255550100", "message": "x", "tag": ""}),
    ("tag-long", {"to": "+14255550100", "message": "x", "tag": "t" * 129}),
    ("tag-control", {"to": "+14255550100", "message": "x", "tag": "a\u0000b"}),
    ("report-int", {"to": "+14255550100", "message": "x", "enableDeliveryReport": 1}),
    ("unknown", {"to": "+14255550100", "message": "x", "from": "+18005550100"}),
    ("queue-key-over-http", {"to": "+14255550100", "message": "x", "idempotencyKey": "k"}),
]


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[c for c, _ in BAD_BODIES])
def test_sendsms_bad_body_400_nothing_sent(send: SendCall, emulator: EmulatorClient,
                                           case: str, body: Any) -> None:
    response = send(body, key=f"bad-{case}")

    assert response.status_code == 400, json_body(response)
    problem = json_body(response)
    assert response.mimetype == "application/problem+json" and problem["status"] == 400
    assert case == "array" or problem["errors"]
    assert all(e["pointer"].startswith("/") for e in problem.get("errors", []))
    _nothing_sent(emulator)


@pytest.mark.parametrize(("raw", "content_type", "status"), [
    (b"", "application/json", 400),
    (b"{\"to\": ", "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b'{"to": "+14255550100", "to": "+14255550101", "message": "x"}', "application/json", 400),
    (b'{"to": "+14255550100", "message": NaN}', "application/json", 400),
    (b'{"to": "+14255550100", "message": "x"}', "text/plain", 415),
    (json.dumps({"to": "+14255550100", "message": "x" * 70_000}).encode(),
     "application/json", 413),
], ids=["empty", "truncated", "not-utf8", "duplicate-key", "nan", "text-plain", "too-large"])
def test_sendsms_unparseable_body_4xx_nothing_sent(
    send: SendCall, emulator: EmulatorClient, raw: bytes, content_type: str, status: int
) -> None:
    response = send(raw=raw, headers={"Content-Type": content_type})

    assert response.status_code == status
    _nothing_sent(emulator)


@pytest.mark.parametrize("key", ["", " lead", "k" * 201, "line\nbreak", "tab\there", "é"],
                         ids=["empty", "leading-space", "long", "newline", "tab", "non-ascii"])
def test_sendsms_bad_idempotency_key_400(send: SendCall, emulator: EmulatorClient,
                                         key: str) -> None:
    response = send({"to": numbers(1), "message": "x"}, key=key)

    assert response.status_code == 400
    _nothing_sent(emulator)


def test_sendsms_field_errors_point_at_each_bad_field(send: SendCall,
                                                      emulator: EmulatorClient) -> None:
    response = send({"to": ["+14255550100", "12", "+1425CALL"], "message": "", "x": 1})

    pointers = {e["pointer"] for e in json_body(response)["errors"]}
    assert pointers == {"/to/1", "/to/2", "/message", "/x"}
    _nothing_sent(emulator)


def test_sendsms_country_outside_allowlist_400_nothing_sent(
    send: SendCall, emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMS_ALLOWED_COUNTRY_CODES", "US,CA")
    use_services(None)

    refused = send({"to": ["+14255550100", "+33612345678"], "message": "x"})
    allowed = send({"to": ["+14255550100", "+16135550123"], "message": "x"})

    assert refused.status_code == 400
    assert [e["pointer"] for e in json_body(refused)["errors"]] == ["/to/1"]
    assert allowed.status_code == 202
    assert emulator.counters()["sms.send"] == 1


def test_sendsms_max_recipients_setting_honoured(send: SendCall, emulator: EmulatorClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_MAX_RECIPIENTS", "5")
    use_services(None)

    assert send({"to": numbers(6), "message": "x"}).status_code == 400
    assert send({"to": numbers(5), "message": "x"}).status_code == 202


def test_sendsms_sms_from_missing_configuration_error_500(
    send: SendCall, emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("SMS_FROM")
    use_services(None)

    response = send({"to": numbers(1), "message": "x"}, key="cfg")

    assert response.status_code == 500
    assert "not configured" in json_body(response)["detail"]
    assert any("SMS_FROM" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    _nothing_sent(emulator)


def test_sms_service_send_parsed_request_sends_once_per_recipient(
    app_env: dict[str, str], emulator: EmulatorClient, sender_token: str
) -> None:
    services = get_services()
    caller = services.authenticator.authenticate(f"Bearer {sender_token}")
    request = SmsRequest.parse({"to": numbers(2), "message": "x"}, services.settings)

    outcome = services.sms.send(request, scope=caller_scope(caller.key), key="k")
    again = services.sms.send(request, scope=caller_scope(caller.key), key="k")

    assert outcome.status == again.status == 202
    assert len(emulator.sms()) == 2
