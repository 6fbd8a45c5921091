"""Getting a user's ACS token from the service in-process, as the lifecycle tests' first step."""

from __future__ import annotations

import IssueToken
from devhost.direct import http_request, json_body


def issue_token(user_token: str) -> dict[str, str]:
    """POST /api/token with the user's sign-in token; the 200 answer's body."""
    response = IssueToken.main(http_request("POST", "token", token=user_token))
    assert response.status_code == 200, response.get_body()
    body: dict[str, str] = json_body(response)
    return body
