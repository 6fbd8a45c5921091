"""POST /api/identities: the caller's ACS identity, created on first use (201) or existing (200)."""

from __future__ import annotations

from shared.edge.http import ApiRequest, ApiResponse, endpoint
from shared.identity.tokens import parse_identity_request


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    caller = request.caller()
    parse_identity_request(request.json(required=False))
    identity_id, created = request.services.tokens.ensure_identity(caller)
    return ApiResponse(201 if created else 200, {"communicationUserId": identity_id})
