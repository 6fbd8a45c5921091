"""GET /api/users/{userKey}/identity: a user's ACS identity (admin); DELETE: delete it (204)."""

from __future__ import annotations

from shared.edge.http import ApiRequest, ApiResponse, endpoint
from shared.errors import NotFound
from shared.identity.lifecycle import no_body


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    request.admin()
    user = request.services.lifecycle.user(request.route("userKey"))
    no_body(request.raw.get_body())
    if request.raw.method.upper() == "DELETE":
        request.services.lifecycle.delete(user)
        return ApiResponse(204, None)
    identity_id = request.services.lifecycle.identity(user)
    if identity_id is None:
        raise NotFound("The user has no ACS identity.")
    return ApiResponse(200, {"communicationUserId": identity_id})
