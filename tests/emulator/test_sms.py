"""SMS behaviour beyond the spec examples: sender ownership, repeatability, opt-outs and
delivery reports."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from emulator.client import EmulatorClient
from tests.emulator.acs_http import AcsHttp, rfc1123

TO = "+14255550123"


def _send(acs: AcsHttp, recipients: list[dict[str, Any]], message: str = "Hello",
          api_version: str = "2021-03-07", **options: Any) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"from": acs.settings["SMS_FROM"], "smsRecipients": recipients,
                            "message": message}
    if options:
        body["smsSendOptions"] = {"enableDeliveryReport": False, **options}
    response = acs.call("POST", "/sms", body, api_version=api_version)
    assert response.status_code == 202, response.text
    items: list[dict[str, Any]] = response.json()["value"]
    return items


def _repeatable(to: str = TO, request_id: str | None = None,
                first_sent: str | None = None) -> dict[str, str]:
    return {"to": to, "repeatabilityRequestId": request_id or str(uuid.uuid4()),
            "repeatabilityFirstSent": first_sent or rfc1123()}


@pytest.mark.parametrize(("number", "valid"), [
    ("+11234567890", True), ("+15555555551", True), ("+447700900123", True),
    ("+112345678901", False), ("+123", False), ("+1123456789", False), ("14255550123", False),
    ("+0123456789", False), ("+1425555012a", False), ("+4477009001234567", False),
])
def test_sms_number_validation_lax_like_acs(acs: AcsHttp, number: str, valid: bool) -> None:
    [item] = _send(acs, [{"to": number}])
    assert item["successful"] is valid
    assert item["httpStatusCode"] == (202 if valid else 400)


def test_sms_outbox_records_one_entry_per_sent_recipient(acs: AcsHttp,
                                                         emulator: EmulatorClient) -> None:
    repeat = _repeatable("+14255550124")
    items = _send(acs, [{"to": TO}, {"to": "+1"}, repeat], message="Hi there", tag="t1",
                  enableDeliveryReport=True)
    outbox = emulator.sms()
    assert [entry["to"] for entry in outbox] == [TO, "+14255550124"]
    entry = outbox[1]
    assert entry["messageId"] == items[2]["messageId"]
    assert (entry["from"], entry["message"], entry["tag"], entry["enableDeliveryReport"]) == (
        acs.settings["SMS_FROM"], "Hi there", "t1", True)
    assert entry["repeatabilityRequestId"] == repeat["repeatabilityRequestId"]
    assert entry["repeatabilityFirstSent"] == repeat["repeatabilityFirstSent"]
    assert entry["apiVersion"] == "2021-03-07"
    assert dt.datetime.fromisoformat(entry["sentAt"]).tzinfo is not None


def test_sms_repeat_same_request_not_sent_again_same_result(acs: AcsHttp,
                                                            emulator: EmulatorClient) -> None:
    recipient = _repeatable()
    [first] = _send(acs, [recipient])
    [second] = _send(acs, [recipient])
    assert first["repeatabilityResult"] == "accepted" and first["successful"]
    assert second == first
    assert len(emulator.sms()) == 1


def test_sms_repeat_id_with_different_body_rejected_400(acs: AcsHttp,
                                                        emulator: EmulatorClient) -> None:
    recipient = _repeatable()
    _send(acs, [recipient])
    [item] = _send(acs, [recipient], message="Something else")
    assert (item["httpStatusCode"], item["repeatabilityResult"], item["successful"]) == (
        400, "rejected", False)
    assert len(emulator.sms()) == 1


def test_sms_repeat_first_sent_outside_window_rejected_412(acs: AcsHttp,
                                                           emulator: EmulatorClient) -> None:
    old = rfc1123(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6))
    [item] = _send(acs, [_repeatable(first_sent=old)])
    assert (item["httpStatusCode"], item["repeatabilityResult"]) == (412, "rejected")
    assert emulator.sms() == []


@pytest.mark.parametrize("first_sent", [None, "yesterday", "2024-01-01T00:00:00Z",
                                        "Mon, 01 Apr 2019 06:22:03"])
def test_sms_repeat_id_without_valid_first_sent_rejected_400(acs: AcsHttp,
                                                             first_sent: str | None) -> None:
    recipient: dict[str, Any] = {"to": TO, "repeatabilityRequestId": str(uuid.uuid4())}
    if first_sent is not None:
        recipient["repeatabilityFirstSent"] = first_sent
    [item] = _send(acs, [recipient])
    assert (item["httpStatusCode"], item["repeatabilityResult"]) == (400, "rejected")
    assert "RFC1123" in item["errorMessage"]


def test_sms_repeat_ids_are_per_recipient(acs: AcsHttp, emulator: EmulatorClient) -> None:
    first_sent = rfc1123()
    recipients = [_repeatable(TO, first_sent=first_sent),
                  _repeatable("+14255550124", first_sent=first_sent)]
    assert all(item["successful"] for item in _send(acs, recipients))
    again = _send(acs, recipients)
    assert all(item["repeatabilityResult"] == "accepted" for item in again)
    assert len(emulator.sms()) == 2


def test_sms_unowned_sender_400_nothing_sent(acs: AcsHttp, emulator: EmulatorClient) -> None:
    body = {"from": "+14255550100", "smsRecipients": [{"to": TO}], "message": "x"}
    response = acs.call("POST", "/sms", body, api_version="2021-03-07")
    assert response.status_code == 400
    assert "not owned" in response.json()["error"]["message"]
    assert emulator.sms() == []


def test_sms_opted_out_recipient_fails_item_not_sent(acs: AcsHttp,
                                                     emulator: EmulatorClient) -> None:
    sender = acs.settings["SMS_FROM"]
    added = acs.call("POST", "/sms/optouts:add", {"from": sender, "recipients": [{"to": TO}]},
                     api_version="2026-01-23")
    assert added.json()["value"] == [{"to": TO, "httpStatusCode": 200}]
    items = _send(acs, [{"to": TO}, {"to": "+14255550124"}], api_version="2026-01-23")
    assert (items[0]["httpStatusCode"], items[0]["successful"]) == (403, False)
    assert "opted out" in items[0]["errorMessage"]
    assert [entry["to"] for entry in emulator.sms()] == ["+14255550124"]
    acs.call("POST", "/sms/optouts:remove", {"from": sender, "recipients": [{"to": TO}]},
             api_version="2026-01-23")
    assert _send(acs, [{"to": TO}])[0]["successful"] is True


def test_sms_opt_out_check_reflects_add_and_remove(acs: AcsHttp) -> None:
    sender = acs.settings["SMS_FROM"]

    def check() -> bool:
        response = acs.call("POST", "/sms/optouts:check",
                            {"from": sender, "recipients": [{"to": TO}]},
                            api_version="2026-01-23")
        return bool(response.json()["value"][0]["isOptedOut"])

    assert check() is False
    acs.call("POST", "/sms/optouts:add", {"from": sender, "recipients": [{"to": TO}]},
             api_version="2026-01-23")
    assert check() is True
    acs.call("POST", "/sms/optouts:remove", {"from": sender, "recipients": [{"to": TO}]},
             api_version="2026-01-23")
    assert check() is False


@pytest.mark.parametrize("body", [
    {"recipients": [{"to": TO}]},
    {"from": "+18005550100", "recipients": []},
    {"from": "+18005550100", "recipients": [{"to": TO}] * 101},
    {"from": "+18005550100", "recipients": [{"to": ""}]},
    {"from": "+18005550100", "recipients": ["+14255550123"]},
])
def test_sms_opt_out_bad_request_400(acs: AcsHttp, body: dict[str, Any]) -> None:
    response = acs.call("POST", "/sms/optouts:add", body, api_version="2026-01-23")
    assert response.status_code == 400 and "error" in response.json()


def test_sms_opt_outs_only_in_2026_api_400(acs: AcsHttp) -> None:
    body = {"from": acs.settings["SMS_FROM"], "recipients": [{"to": TO}]}
    response = acs.call("POST", "/sms/optouts:add", body, api_version="2021-03-07")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidApiVersion"


def test_sms_delivery_report_without_request_404(acs: AcsHttp) -> None:
    [item] = _send(acs, [{"to": TO}], api_version="2026-01-23", enableDeliveryReport=False)
    response = acs.call("GET", f"/deliveryReports/{item['messageId']}", api_version="2026-01-23")
    assert response.status_code == 404 and response.json()["status"] == 404


@pytest.mark.parametrize("options", [
    {"tag": "x"},
    {"enableDeliveryReport": "yes"},
    {"enableDeliveryReport": True, "tag": 5},
    {"enableDeliveryReport": True, "deliveryReportTimeoutInSeconds": 10},
    {"enableDeliveryReport": True, "messagingConnect": {"partner": "p", "partnerParams": {}}},
])
def test_sms_send_bad_options_400(acs: AcsHttp, emulator: EmulatorClient,
                                  options: dict[str, Any]) -> None:
    body = {"from": acs.settings["SMS_FROM"], "smsRecipients": [{"to": TO}], "message": "x",
            "smsSendOptions": options}
    response = acs.call("POST", "/sms", body, api_version="2026-01-23")
    assert response.status_code == 400, response.text
    assert emulator.sms() == []


@pytest.mark.parametrize("body", [
    {"smsRecipients": [{"to": TO}], "message": "x"},
    {"from": "+18005550100", "message": "x"},
    {"from": "+18005550100", "smsRecipients": [{"to": TO}]},
    {"from": "+18005550100", "smsRecipients": [{"to": TO}], "message": "x" * 2049},
    {"from": "+18005550100", "smsRecipients": [{"to": TO}] * 101, "message": "x"},
    {"from": "+18005550100", "smsRecipients": [{"to": 14255550123}], "message": "x"},
    {"from": "+18005550100", "smsRecipients": [{"to": TO, "repeatabilityRequestId": 1}],
     "message": "x"},
])
def test_sms_send_bad_body_400_nothing_sent(acs: AcsHttp, emulator: EmulatorClient,
                                            body: dict[str, Any]) -> None:
    response = acs.call("POST", "/sms", body, api_version="2021-03-07")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "ValidationError"
    assert emulator.sms() == []


def test_sms_message_of_2048_chars_and_100_recipients_accepted(acs: AcsHttp) -> None:
    recipients = [{"to": f"+1425555{index:04d}"} for index in range(100)]
    items = _send(acs, recipients, message="x" * 2048)
    assert len(items) == 100 and all(item["successful"] for item in items)
