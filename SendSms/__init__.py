"""POST /api/sms: send an SMS to one or more recipients for a backend holding the send role."""

from __future__ import annotations

from shared.http import ApiRequest, ApiResponse, endpoint


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    outcome = request.services.sms.send_http(
        request.caller(), request.services.settings,
        idempotency_key=request.header("Idempotency-Key"),
        read_body=lambda: request.json(required=True),
    )
    return ApiResponse(outcome.status, outcome.to_json())
