"""POST /api/sms: send an SMS to one or more recipients for a backend holding the send role."""

from __future__ import annotations

from shared.edge.http import ApiRequest, ApiResponse, endpoint
from shared.sms.request import SmsRequest, caller_scope, parse_idempotency_key


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    settings = request.services.settings
    # The role is checked before the body is read, so a caller without it learns nothing more.
    caller = request.caller(role=settings.sms_send_role)
    key = parse_idempotency_key(request.header("Idempotency-Key"))
    sms = SmsRequest.parse(request.json(required=True), settings)
    outcome = request.services.sms.send(sms, scope=caller_scope(caller.key), key=key)
    return ApiResponse(outcome.status, outcome.to_json())
