"""GET /api/users/{userKey}/identity: a user's ACS identity (admin); DELETE: delete it (204)."""

from __future__ import annotations

from shared.edge.http import ApiRequest, ApiResponse, endpoint
from shared.identity.routes import identity_resource


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    request.admin()
    user = request.services.lifecycle.user(request.route("userKey"))
    return identity_resource(request, user, missing="The user has no ACS identity.")
