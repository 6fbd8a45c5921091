"""The HTTP shape the identity routes share: one identity as a resource (GET it, DELETE it)."""

from __future__ import annotations

from shared.auth.caller import Caller
from shared.edge.http import ApiRequest, ApiResponse
from shared.errors import NotFound
from shared.identity.lifecycle import no_body


def identity_resource(request: ApiRequest, user: Caller, *, missing: str) -> ApiResponse:
    """GET: 200 with the user's identity, or 404 saying `missing`; DELETE: delete it, 204."""
    no_body(request.raw.get_body())
    lifecycle = request.services.lifecycle
    if request.raw.method.upper() == "DELETE":
        lifecycle.delete(user)
        return ApiResponse(204, None)
    identity_id = lifecycle.identity(user)
    if identity_id is None:
        raise NotFound(missing)
    return ApiResponse(200, {"communicationUserId": identity_id})
