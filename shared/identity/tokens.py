"""The token service: a caller's ACS identity (created on first use) and user access tokens.

Race safety: the Table insert decides which ACS identity a caller keeps; a loser of the race
deletes the identity it created, so no orphan is left behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from shared.auth.caller import Caller
from shared.clients.acs import AcsClient, CreatedIdentity
from shared.config.settings import ACS_SCOPES, TOKEN_MINUTES_MAX, TOKEN_MINUTES_MIN, Settings
from shared.errors import (
    FieldError,
    IdentityGone,
    ServiceError,
    UpstreamUnavailable,
    ValidationError,
)
from shared.identity.map import IdentityMap
from shared.identity.recent import RecentIdentities

logger = logging.getLogger(__name__)


def parse_identity_request(body: Any) -> None:
    """CreateIdentity defines no fields: no body, or an empty object."""
    if body is None or body == {}:
        return
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object.")
    raise ValidationError(
        "The identity request takes no fields.",
        errors=tuple(FieldError(f"/{key}", "Unknown field.") for key in body),
    )


@dataclass(frozen=True)
class TokenRequest:
    scopes: tuple[str, ...]
    expires_in_minutes: int

    @classmethod
    def parse(cls, body: Any, settings: Settings) -> TokenRequest:
        """Validate the optional body `{"scopes": [...], "expiresInMinutes": n}`."""
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise ValidationError("The body must be a JSON object.")
        problems = [FieldError(f"/{k}", "Unknown field.") for k in body
                    if k not in ("scopes", "expiresInMinutes")]
        offered = sorted(settings.token_scopes)
        scopes = body.get("scopes", offered)
        if not isinstance(scopes, list) or not scopes or len(scopes) > len(ACS_SCOPES):
            problems.append(FieldError("/scopes", "Must be a non-empty list of scopes."))
            scopes = []
        # One rule for every scope: this deployment offers TOKEN_SCOPES, whatever else ACS has.
        for index, scope in enumerate(scopes):
            if not isinstance(scope, str) or scope not in settings.token_scopes:
                problems.append(FieldError(
                    f"/scopes/{index}", f"Not offered; this service issues {', '.join(offered)}."
                ))
        minutes = body.get("expiresInMinutes", settings.token_expires_minutes)
        if isinstance(minutes, float) and minutes.is_integer():
            # JSON has one number type: 544.0 is the integer 544 (as JSON Schema's `integer`).
            minutes = int(minutes)
        if (isinstance(minutes, bool) or not isinstance(minutes, int)
                or not TOKEN_MINUTES_MIN <= minutes <= TOKEN_MINUTES_MAX):
            problems.append(FieldError(
                "/expiresInMinutes",
                f"Must be a whole number from {TOKEN_MINUTES_MIN} to {TOKEN_MINUTES_MAX}.",
            ))
        if problems:
            raise ValidationError("The token request is not valid.", errors=tuple(problems))
        return cls(scopes=tuple(dict.fromkeys(scopes)), expires_in_minutes=minutes)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_on: str
    communication_user_id: str

    def to_json(self) -> dict[str, str]:
        return {
            "token": self.token,
            "expiresOn": self.expires_on,
            "communicationUserId": self.communication_user_id,
        }


class TokenService:
    def __init__(self, acs: AcsClient, identities: IdentityMap,
                 recent: RecentIdentities | None = None) -> None:
        self._acs = acs
        self._identities = identities
        # Without one, nothing is kept: every token request reads the map.
        self._recent = recent if recent is not None else RecentIdentities(0)

    def ensure_identity(self, caller: Caller) -> tuple[str, bool]:
        """The caller's ACS identity id, and whether this call created it."""
        existing = self._identities.get(caller)
        if existing is not None:
            return existing, False
        created = self._acs.create_identity()
        winner = self._keep(caller, created)
        return winner, winner == created.id

    def issue_token(self, caller: Caller, request: TokenRequest) -> IssuedToken:
        recent = self._recent.get(caller)
        if recent is not None:
            try:
                return self._issue(recent, request)
            except IdentityGone:
                # Deleted since it was kept (on this instance or another): read the map.
                self._recent.forget(caller)
        issued = self._issue_mapped(caller, request, gone=recent)
        self._recent.put(caller, issued.communication_user_id)
        return issued

    def _issue_mapped(self, caller: Caller, request: TokenRequest, *,
                      gone: str | None) -> IssuedToken:
        """A token for the identity the map names (created on first use); `gone` is an
        identity ACS has just refused as gone, so the map naming it is healed at once."""
        identity_id = self._identities.get(caller)
        if identity_id is None:
            # First use: one ACS call creates the identity and its token together.
            created = self._acs.create_identity(
                scopes=request.scopes, expires_in_minutes=request.expires_in_minutes
            )
            identity_id = self._keep(caller, created)
            if identity_id == created.id and created.access_token is not None:
                return IssuedToken(created.access_token.token, created.access_token.expires_on,
                                   identity_id)
        if identity_id != gone:
            try:
                return self._issue(identity_id, request)
            except IdentityGone:
                pass
        identity_id = self._remap(caller, identity_id)
        try:
            return self._issue(identity_id, request)
        except IdentityGone as exc:
            # Deleted again at once: the user's own concurrent delete. A retry maps anew.
            raise UpstreamUnavailable("The caller's identity is being deleted; try again.",
                                      retry_after=1) from exc

    def _issue(self, identity_id: str, request: TokenRequest) -> IssuedToken:
        token = self._acs.issue_token(identity_id, request.scopes, request.expires_in_minutes)
        return IssuedToken(token.token, token.expires_on, identity_id)

    def _keep(self, caller: Caller, created: CreatedIdentity) -> str:
        with self._discarded_unless_mapped(caller, created.id):
            winner = self._identities.add(caller, created.id)
        if winner != created.id:
            self._discard(created.id)
        return winner

    def _remap(self, caller: Caller, gone_id: str) -> str:
        logger.warning("Mapped ACS identity no longer exists; mapping a new one")
        created = self._acs.create_identity()
        with self._discarded_unless_mapped(caller, created.id):
            winner = self._identities.replace(caller, gone_id, created.id)
        if winner != created.id:
            self._discard(created.id)
        return winner

    @contextmanager
    def _discarded_unless_mapped(self, caller: Caller, identity_id: str) -> Iterator[None]:
        """If writing the map fails, an identity it may not hold must not outlive the request.

        The write may have landed before the failure, so the map is read back first; if that
        read fails too, the identity is deleted: a map row pointing at it is healed by the next
        IssueToken (IdentityGone -> remap), while an orphan would live forever.
        """
        try:
            yield
        except ServiceError:
            try:
                mapped = self._identities.get(caller) == identity_id
            except ServiceError:
                mapped = False
            if not mapped:
                self._discard(identity_id)
            raise

    def _discard(self, identity_id: str) -> None:
        """Delete an identity that lost a mapping race; the caller's request still succeeds."""
        try:
            self._acs.delete_identity(identity_id)
        except IdentityGone:
            pass
        except ServiceError:
            logger.error("Could not delete an unmapped ACS identity %s; delete it by hand",
                         identity_id)
