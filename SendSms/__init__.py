"""POST /api/sms: send an SMS to one or more recipients for a backend holding the send role."""

from __future__ import annotations

from shared.http import ApiRequest, ApiResponse, endpoint
from shared.sms import http_scope
from shared.sms_request import SmsRequest, parse_idempotency_key


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    caller = request.caller()
    # The role is checked before the body is read: a caller without it learns nothing more.
    caller.require_role(request.services.settings.sms_send_role)
    key = parse_idempotency_key(request.header("Idempotency-Key"))
    sms = SmsRequest.parse(request.json(required=True), request.services.settings)
    outcome = request.services.sms.send(sms, scope=http_scope(caller.key), key=key)
    return ApiResponse(outcome.status, outcome.to_json())
