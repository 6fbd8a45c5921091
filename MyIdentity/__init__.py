"""GET /api/identities/me: the caller's ACS identity (404 if none); DELETE: delete it (204)."""

from __future__ import annotations

from shared.edge.http import ApiRequest, ApiResponse, endpoint
from shared.errors import NotFound
from shared.identity.lifecycle import no_body


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    caller = request.caller()
    no_body(request.raw.get_body())
    if request.raw.method.upper() == "DELETE":
        request.services.lifecycle.delete(caller)
        return ApiResponse(204, None)
    identity_id = request.services.lifecycle.identity(caller)
    if identity_id is None:
        raise NotFound("The caller has no ACS identity.")
    return ApiResponse(200, {"communicationUserId": identity_id})
