"""The ACS SMS API: send with per-recipient results and repeatability, opt-out management and
delivery reports (2026-01-23), and the outbox that records every message actually sent."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from emulator.context import Context
from emulator.state import RepeatRecord
from emulator.web import (
    AcsError,
    Request,
    Response,
    RouteHandler,
    route,
    status_code_name,
    trace_id,
    validation_problem,
)

logger = logging.getLogger(__name__)

SEND_VERSIONS = frozenset({"2021-03-07", "2026-01-23"})
V2026_VERSIONS = frozenset({"2026-01-23"})
MAX_RECIPIENTS = 100
MAX_MESSAGE = 2048
REPEATABILITY_WINDOW = 300.0  # seconds, as ACS documents for repeatable SMS requests
# Lax on purpose, like ACS: E.164 shape, and North American numbers need exactly 10 digits.
_E164 = re.compile(r"\+[1-9]\d{7,14}")
_RFC1123 = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")

INVALID_TO = "Invalid To phone number format."
INVALID_RECIPIENT = "Invalid recipient phone number format"
INVALID_FIRST_SENT = ("Request sent with Invalid DateTime value for repeatability-first-sent. "
                      "Expected is DateTime ,RFC1123 pattern.")
STALE_FIRST_SENT = ("Request sent with repeatability-first-sent outside the allowed window of "
                    "5 minutes; it cannot be repeated.")
REUSED_REQUEST_ID = ("Request sent with a repeatability-request-id already used for a different "
                     "request.")
OPTED_OUT = "The recipient has opted out of messages from this sender."


def is_valid_number(number: str) -> bool:
    if not _E164.fullmatch(number):
        return False
    return not number.startswith("+1") or len(number) == 12


def _parse_first_sent(value: Any) -> float | None:
    if not isinstance(value, str) or not _RFC1123.fullmatch(value):
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _sender(ctx: Context, body: dict[str, Any]) -> str:
    sender = body.get("from")
    if not isinstance(sender, str) or not sender:
        raise validation_problem("From", "The 'from' field is required.")
    if not is_valid_number(sender) and sender != ctx.resource.sms_from:
        raise validation_problem("From", "Invalid from phone number format.")
    if sender != ctx.resource.sms_from:
        raise validation_problem("From", f"The sender '{sender}' is not owned by this resource.")
    return sender


def _recipients(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    # Problem details name fields the ASP.NET way, PascalCase, as in the spec's examples.
    field = name[0].upper() + name[1:]
    recipients = body.get(name)
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise validation_problem(field, f"'{name}' must list 1 to {MAX_RECIPIENTS} recipients.")
    for item in recipients:
        if not isinstance(item, dict) or not isinstance(item.get("to"), str) or not item["to"]:
            raise validation_problem(field, "Every recipient needs a non-empty 'to' string.")
        for key in ("repeatabilityRequestId", "repeatabilityFirstSent"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise validation_problem(field, f"'{key}' must be a string.")
    return recipients


def _options(body: dict[str, Any]) -> dict[str, Any]:
    options = body.get("smsSendOptions")
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise validation_problem("SmsSendOptions", "'smsSendOptions' must be an object.")
    if not isinstance(options.get("enableDeliveryReport"), bool):
        raise validation_problem("SmsSendOptions.EnableDeliveryReport",
                                 "'enableDeliveryReport' is required and must be a boolean.")
    if options.get("tag") is not None and not isinstance(options["tag"], str):
        raise validation_problem("SmsSendOptions.Tag", "'tag' must be a string.")
    for name, low, high in (("validityPeriodSeconds", 0, 2**31 - 1),
                            ("deliveryReportTimeoutInSeconds", 60, 43200)):
        value = options.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not low <= value <= high):
            raise validation_problem(f"SmsSendOptions.{name}",
                                     f"'{name}' must be an integer within [{low}, {high}].")
    connect = options.get("messagingConnect")
    if connect is not None and not (
        isinstance(connect, dict) and isinstance(connect.get("partner"), str)
        and isinstance(connect.get("partnerParams"), dict) and connect["partnerParams"]
    ):
        raise validation_problem("SmsSendOptions.MessagingConnect",
                                 "'messagingConnect' needs 'partner' and non-empty "
                                 "'partnerParams'.")
    return options


def _failure(to: str, status: int, message: str, repeatability: str | None = None
             ) -> dict[str, Any]:
    item: dict[str, Any] = {"to": to, "httpStatusCode": status, "successful": False,
                            "errorMessage": message}
    if repeatability:
        item["repeatabilityResult"] = repeatability
    return item


def _message_id(api_version: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    # 2021-03-07 ids carry the "Outgoing_" prefix and a region suffix; 2026-01-23 ids do not.
    return f"Outgoing_{stamp}{uuid.uuid4()}_noam" if api_version == "2021-03-07" \
        else f"{stamp}{uuid.uuid4()}"


def send(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    body = request.json_object()
    sender = _sender(ctx, body)
    recipients = _recipients(body, "smsRecipients")
    message = body.get("message")
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        raise validation_problem("Message", f"'message' is required, at most {MAX_MESSAGE} "
                                 "characters.")
    options = _options(body)
    api_version = request.query["api-version"]
    now = time.time()
    results = []
    with ctx.state.lock:
        ctx.state.prune_repeatability(now, REPEATABILITY_WINDOW)
        for recipient in recipients:
            results.append(_send_one(ctx, sender, recipient, message, options, api_version, now))
    return Response(202, {"value": results})


def _send_one(ctx: Context, sender: str, recipient: dict[str, Any], message: str,
              options: dict[str, Any], api_version: str, now: float) -> dict[str, Any]:
    """One recipient's result; the caller holds the state lock so repeats cannot race."""
    to: str = recipient["to"]
    if not is_valid_number(to):
        return _failure(to, 400, INVALID_TO)
    request_id = recipient.get("repeatabilityRequestId")
    first_sent_text = recipient.get("repeatabilityFirstSent")
    content = json.dumps([sender, to, message, options], sort_keys=True)
    first_sent: float | None = None
    if request_id:
        first_sent = _parse_first_sent(first_sent_text)
        if first_sent is None:
            return _failure(to, 400, INVALID_FIRST_SENT, "rejected")
        if now - first_sent > REPEATABILITY_WINDOW:
            return _failure(to, 412, STALE_FIRST_SENT, "rejected")
        earlier = ctx.state.repeatability.get(request_id.lower())
        if earlier is not None:
            if earlier.content != content:
                return _failure(to, 400, REUSED_REQUEST_ID, "rejected")
            return dict(earlier.item)
    if (sender, to) in ctx.state.opt_outs:
        return _failure(to, 403, OPTED_OUT)
    # An injected recipient fault takes only a recipient that would be sent now. Like the
    # other failed items it is neither sent nor remembered, so the same repeatability id
    # can be sent later.
    fault = ctx.state.take_recipient_fault(to)
    if fault is not None:
        return _failure(to, fault.status, status_code_name(fault.status))
    message_id = _message_id(api_version)
    ctx.state.record_sms({
        "messageId": message_id, "from": sender, "to": to, "message": message,
        "tag": options.get("tag"),
        "enableDeliveryReport": bool(options.get("enableDeliveryReport", False)),
        "repeatabilityRequestId": request_id, "repeatabilityFirstSent": first_sent_text,
        "apiVersion": api_version,
        "sentAt": dt.datetime.fromtimestamp(now, dt.UTC).isoformat(),
    })
    item: dict[str, Any] = {"to": to, "messageId": message_id, "httpStatusCode": 202,
                            "successful": True}
    if request_id and first_sent is not None:
        item["repeatabilityResult"] = "accepted"
        ctx.state.remember_repeat(request_id.lower(), RepeatRecord(content, first_sent, item))
    return item


def _opt_out(kind: str) -> RouteHandler:
    def handle(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
        body = request.json_object()
        sender = _sender(ctx, body)
        results = []
        with ctx.state.lock:
            for recipient in _recipients(body, "recipients"):
                to = recipient["to"]
                if not is_valid_number(to):
                    results.append({"to": to, "httpStatusCode": 400,
                                    "errorMessage": INVALID_RECIPIENT})
                    continue
                item: dict[str, Any] = {"to": to, "httpStatusCode": 200}
                if kind == "add":
                    ctx.state.opt_outs.add((sender, to))
                elif kind == "remove":
                    ctx.state.opt_outs.discard((sender, to))
                else:
                    item["isOptedOut"] = (sender, to) in ctx.state.opt_outs
                results.append(item)
        return Response(200, {"value": results})

    return handle


def delivery_report(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    with ctx.state.lock:
        entry = ctx.state.messages.get(params["outgoingMessageId"])
        entry = dict(entry) if entry else None
    if entry is None or not entry["enableDeliveryReport"]:
        raise AcsError(404, "NotFound", "No delivery report for this message.", body={
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5",
            "title": "Not Found", "status": 404, "traceId": trace_id(),
            "error": {"code": "NotFound", "message": "No delivery report for this message."},
        })
    # Every message "arrives" at once; segments assume 160-character GSM-7 parts.
    segments = max(1, math.ceil(len(entry["message"]) / 160))
    report: dict[str, Any] = {
        "deliveryStatus": "Delivered",
        "deliveryStatusDetails": "2000: No Error (emulated delivery)",
        "deliveryAttempts": [{"timestamp": entry["sentAt"], "segmentsSucceeded": segments,
                              "segmentsFailed": 0}],
        "receivedTimestamp": entry["sentAt"],
        "messageId": entry["messageId"], "from": entry["from"], "to": entry["to"],
    }
    if entry["tag"] is not None:
        report["tag"] = entry["tag"]
    return Response(200, report)


ROUTES = [
    route("POST", "/sms", send, "sms.send", SEND_VERSIONS),
    route("POST", "/sms/optouts:add", _opt_out("add"), "sms.optOuts.add", V2026_VERSIONS),
    route("POST", "/sms/optouts:remove", _opt_out("remove"), "sms.optOuts.remove",
          V2026_VERSIONS),
    route("POST", "/sms/optouts:check", _opt_out("check"), "sms.optOuts.check",
          V2026_VERSIONS),
    route("GET", "/deliveryReports/{outgoingMessageId}", delivery_report, "sms.deliveryReport",
          V2026_VERSIONS),
]
