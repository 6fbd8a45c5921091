"""GET /api/identities/me: the caller's ACS identity (404 if none); DELETE: delete it (204)."""

from __future__ import annotations

from shared.edge.http import ApiRequest, ApiResponse, endpoint
from shared.identity.routes import identity_resource


@endpoint
def main(request: ApiRequest) -> ApiResponse:
    return identity_resource(request, request.caller(), missing="The caller has no ACS identity.")
