"""POST /api/token: an ACS user access token for the caller's identity (created on first use)."""

from __future__ import annotations

from shared.edge.http import ApiRequest, ApiResponse, endpoint
from shared.identity.tokens import TokenRequest


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    caller = request.caller()
    options = TokenRequest.parse(request.json(required=False), request.services.settings)
    return ApiResponse(200, request.services.tokens.issue_token(caller, options).to_json())
