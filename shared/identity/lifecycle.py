"""The identity lifecycle: a caller's identity, signing out everywhere, deleting it, lookups.

Delete order (each step idempotent, the mapping removed last, so a retry after a crash at any
point finds the identity again and finishes the job): delete the ACS identity, then remove the
mapping and its reverse record together (one transaction) if the mapping still names that
identity. A crash in between leaves at most a mapping to a deleted identity, which the next
`/api/token` heals (IdentityGone -> new identity) and the next delete removes; never an
identity nobody maps.
"""

from __future__ import annotations

import logging
import re
from contextlib import suppress

from shared.auth.caller import Caller
from shared.clients.acs import AcsClient
from shared.errors import IdentityGone, ValidationError
from shared.identity.map import IdentityMap
from shared.identity.recent import RecentIdentities

logger = logging.getLogger(__name__)

# Conditional removals of a mapping that still names the deleted identity but whose version
# moved on: tried again with the newer version.
_REMOVE_TRIES = 3

# As shared.auth.bearer takes a caller's subject: the claim's name, then its value (1..256).
_USER_KEY = re.compile(r"(oid|sub):(?=.*\S)[^\x00-\x1f\x7f]{1,256}", re.DOTALL)
# ACS user identities of a Communication Services resource (`8:acs:<resource>_<id>`; in the
# US government clouds `8:gcch-acs:` and `8:dod-acs:`).
_ACS_USER_ID = re.compile(r"8:(?:acs|gcch-acs|dod-acs):[A-Za-z0-9._\-]{1,200}")


def parse_user_key(raw: str | None) -> str:
    """A caller key as the service keeps it: `oid:<object id>` or `sub:<subject>`."""
    if raw is None or not _USER_KEY.fullmatch(raw):
        raise ValidationError(
            "The userKey must be 'oid:<object id>' or 'sub:<subject>' (1 to 256 characters "
            "after the prefix, no control characters), URL-encoded in the path."
        )
    return raw


def parse_communication_user_id(raw: str | None) -> str:
    if raw is None or not _ACS_USER_ID.fullmatch(raw):
        raise ValidationError(
            "The communicationUserId must be an ACS user identity, '8:acs:<resource>_<id>'."
        )
    return raw


def no_body(body: bytes | None) -> None:
    """These operations take no body; one that is sent anyway is refused, not ignored."""
    if body and body.strip():
        raise ValidationError("This operation takes no request body.")


class IdentityLifecycle:
    def __init__(self, acs: AcsClient, identities: IdentityMap, issuer: str,
                 recent: RecentIdentities | None = None) -> None:
        self._acs = acs
        self._identities = identities
        self._issuer = issuer
        self._recent = recent if recent is not None else RecentIdentities(0)

    def user(self, user_key: str | None) -> Caller:
        """The caller an admin addresses: a user of the configured issuer."""
        return Caller(issuer=self._issuer, subject=parse_user_key(user_key), roles=frozenset())

    def identity(self, caller: Caller) -> str | None:
        """The caller's mapped identity; the map only, no ACS call."""
        return self._identities.get(caller)

    def revoke(self, caller: Caller) -> bool:
        """Revoke every ACS token of the caller's identity; whether it had one."""
        identity_id = self._identities.get(caller)
        if identity_id is None:
            return False
        try:
            self._acs.revoke_tokens(identity_id)
        except IdentityGone:
            # Deleted behind the service's back: its tokens are refused already.
            logger.info("Revoke: the mapped identity no longer exists in ACS")
        logger.info("Revoked the tokens of a caller's identity")
        return True

    def delete(self, caller: Caller) -> bool:
        """Delete the caller's ACS identity and mapping; whether there was one."""
        entry = self._identities.entry(caller)
        if entry is None:
            return False
        # IdentityGone: an earlier attempt (or an operator) deleted it; finish the rest.
        with suppress(IdentityGone):
            self._acs.delete_identity(entry.identity_id)
        # Other instances learn it from ACS (IdentityGone) on their next token request.
        self._recent.forget(caller)
        for _ in range(_REMOVE_TRIES):
            if self._identities.remove(caller, entry):
                break
            # The row changed since it was read: a concurrent request mapped a new identity
            # (or rewrote this one).
            latest = self._identities.entry(caller)
            if latest is None or latest.identity_id != entry.identity_id:
                logger.info("Delete: a concurrent request mapped a new identity; that one stays")
                break
            entry = latest
        else:
            logger.warning("Delete: the mapping kept changing; the next request heals it")
        logger.info("Deleted a caller's identity and mapping")
        return True

    def owner(self, identity_id: str | None) -> Caller | None:
        """Who an ACS identity belongs to, per the map's reverse record."""
        return self._identities.owner(parse_communication_user_id(identity_id))
