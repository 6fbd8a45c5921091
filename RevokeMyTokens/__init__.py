"""POST /api/identities/me/revoke: revoke every ACS token of the caller (sign out everywhere)."""

from __future__ import annotations

from shared.edge.http import ApiRequest, ApiResponse, endpoint
from shared.identity.lifecycle import no_body


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    caller = request.caller()
    no_body(request.raw.get_body())
    request.services.lifecycle.revoke(caller)
    return ApiResponse(204, None)
