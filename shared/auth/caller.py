"""Who is calling: the authenticated caller as every service sees it, whatever proved it."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Forbidden


@dataclass(frozen=True)
class Caller:
    """An authenticated app user or backend: issuer plus `oid` (when present) or `sub`.

    `subject` carries its claim's name (`oid:...` or `sub:...`), so one user's `sub` can never
    collide with another user's `oid`.
    """

    issuer: str
    subject: str
    roles: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.issuer}\n{self.subject}"

    def require_role(self, role: str) -> None:
        if role not in self.roles:
            raise Forbidden(f"The caller's token does not carry the app role '{role}'.")
