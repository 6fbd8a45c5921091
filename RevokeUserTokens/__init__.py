"""POST /api/users/{userKey}/identity/revoke: revoke every ACS token of a user (admin)."""

from __future__ import annotations

from shared.edge.http import ApiRequest, ApiResponse, endpoint
from shared.identity.lifecycle import no_body


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    request.admin()
    user = request.services.lifecycle.user(request.route("userKey"))
    no_body(request.raw.get_body())
    request.services.lifecycle.revoke(user)
    return ApiResponse(204, None)
