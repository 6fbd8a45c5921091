"""Claims of a well-formed app-user token from the emulator's issuer, to forge variants of."""

from __future__ import annotations

import time

from emulator.client import EmulatorClient


def good_claims(emulator: EmulatorClient, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": emulator.settings["AUTH_ISSUER"], "sub": "attacker", "iat": now, "nbf": now,
        "exp": now + 600, "aud": emulator.settings["AUTH_AUDIENCE"],
    }
    claims.update(overrides)
    return claims
