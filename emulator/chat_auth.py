"""Who is calling the Chat API: an ACS user access token as a bearer token, checked as ACS does
(signature by this resource's key, expiry, identity alive, not revoked, a chat scope), and what
each chat scope may do."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from emulator import identity
from emulator.context import Context
from emulator.web import AcsError, Request

logger = logging.getLogger(__name__)

CHAT = "chat"
CHAT_JOIN = "chat.join"
CHAT_JOIN_LIMITED = "chat.join.limited"
CHAT_SCOPES = frozenset({CHAT, CHAT_JOIN, CHAT_JOIN_LIMITED})

# What ACS documents for the join scopes: `chat.join` is chat "without the authorization to
# create, delete or update chat threads"; `chat.join.limited` additionally "doesn't allow to add
# or remove participants". Everything else (read, send, receipts, typing) any chat scope may do.
MANAGE_THREADS = frozenset({CHAT})
MANAGE_PARTICIPANTS = frozenset({CHAT, CHAT_JOIN})


@dataclass(frozen=True)
class ChatUser:
    id: str  # the raw identifier, 8:acs:<resource>_<guid>
    scopes: frozenset[str]

    def require(self, allowed: frozenset[str], action: str) -> None:
        """403 unless one of the token's scopes allows `action`."""
        if not self.scopes & allowed:
            raise AcsError(403, "Forbidden",
                           f"The token's scopes ({', '.join(sorted(self.scopes))}) do not "
                           f"allow to {action}; that needs {' or '.join(sorted(allowed))}.")


def _unauthorized(message: str) -> AcsError:
    return AcsError(401, "Unauthorized", message)


def authenticate(ctx: Context, request: Request) -> ChatUser:
    """The caller, or 401 in ACS's error envelope."""
    scheme, token = request.authorization(
        _unauthorized("Authorization header is missing; send a user access token."))
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("Chat accepts user access tokens only: 'Bearer <token>'.")
    claims, reason = identity.user_token_claims(ctx, token)
    if claims is None:
        raise _unauthorized(f"The user access token is not valid: {reason}.")
    if claims.get("resourceId") != ctx.resource.resource_id:
        raise _unauthorized("The user access token belongs to another resource.")
    scopes = identity.token_scopes(claims)
    if not scopes & CHAT_SCOPES:
        raise _unauthorized("The user access token has no chat scope.")
    return ChatUser(id=f"8:{claims['skypeid']}", scopes=scopes)
