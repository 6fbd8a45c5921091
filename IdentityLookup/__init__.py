"""GET /api/identities/{communicationUserId}: which user an ACS identity belongs to (admin)."""

from __future__ import annotations

from shared.edge.http import ApiRequest, ApiResponse, endpoint
from shared.errors import NotFound
from shared.identity.lifecycle import no_body


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    request.admin()
    identity_id = request.route("communicationUserId")
    no_body(request.raw.get_body())
    owner = request.services.lifecycle.owner(identity_id)
    if owner is None:
        raise NotFound("No user is mapped to this ACS identity.")
    return ApiResponse(200, {"userKey": owner.subject, "issuer": owner.issuer})
