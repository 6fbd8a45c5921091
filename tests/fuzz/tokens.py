"""Caller credentials for fuzzing: good issuer tokens (with and without the send role) so body
paths are reached, and forged, tampered, expired and malformed ones that must all be 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import strategies as st

from emulator.client import EmulatorClient
from tests.fuzz.endpoints import ROLES
from tests.fuzz.strategies import hostile_text, weighted

USERS = 4  # a few callers, so identities are created once and then found


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    pad = "=" * (-len(header) % 4), "=" * (-len(payload) % 4)
    return (json.loads(base64.urlsafe_b64decode(header + pad[0])),
            json.loads(base64.urlsafe_b64decode(payload + pad[1])), signature)


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: str = "") -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()),
                     signature])


def _hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = _unsigned(header, claims).rstrip(".")
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


@dataclass(frozen=True)
class Credentials:
    """Authorization header values by what a caller presenting them is."""

    users: tuple[str, ...]     # valid, no app roles
    senders: tuple[str, ...]   # valid, with every role any endpoint needs
    invalid: tuple[str, ...]   # must be refused with 401

    @classmethod
    def mint(cls, emulator: EmulatorClient, roles: tuple[str, ...]) -> Credentials:
        users = tuple(emulator.mint(f"fuzz-user-{n}") for n in range(USERS))
        senders = tuple(emulator.mint(f"fuzz-sender-{n}", roles=list(roles))
                        for n in range(USERS))
        return cls(
            users=tuple(f"Bearer {t}" for t in users),
            senders=tuple(f"Bearer {t}" for t in senders),
            invalid=tuple(f"Bearer {t}" for t in _forged(emulator, senders[0], roles)),
        )


def for_endpoints(emulator: EmulatorClient) -> Credentials:
    """Credentials from `emulator`'s issuer, the senders holding every role any endpoint
    needs."""
    roles = tuple(sorted({role for needed in ROLES.values() for role in needed}))
    return Credentials.mint(emulator, roles)


def _forged(emulator: EmulatorClient, good: str, roles: tuple[str, ...]) -> list[str]:
    header, claims, signature = _segments(good)
    now = int(time.time())
    rsa_key = rsa.generate_private_key(65537, 2048)
    ec_keys = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}
    jwks = emulator.http.get(f"{emulator.issuer}/jwks", timeout=10).json()["keys"]
    issuer_key = jwt.PyJWK(next(k for k in jwks if k["kid"] == header["kid"])).key
    public_pem = issuer_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    kid = {"kid": header["kid"]}
    return [
        _unsigned({"alg": "none", "typ": "JWT", **kid}, claims),
        _unsigned(header, {**claims, "sub": "someone-else"}, signature),
        good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        jwt.encode(claims, rsa_key, algorithm="RS256", headers=kid),
        # HS256 keyed with a public key: the classic algorithm confusion.
        _hs256({"alg": "HS256", "typ": "JWT", **kid}, claims, public_pem),
        *(jwt.encode(claims, ec.generate_private_key(curve), algorithm=alg, headers=kid)
          for alg, curve in ec_keys.items()),
        emulator.mint("fuzz-expired", roles=list(roles), ttl=-600),
        emulator.mint("fuzz-not-yet", roles=list(roles), claims={"nbf": now + 3600}),
        emulator.mint("fuzz-aud", roles=list(roles), aud="api://another-app"),
        emulator.mint("fuzz-iss", roles=list(roles), claims={"iss": "https://attacker.test"}),
        emulator.mint("fuzz-nosub", claims={"sub": None}),
        emulator.mint("fuzz-oid-list", claims={"sub": ["a", "b"]}),
        _unsigned({"alg": "RS256", "kid": "no-such-kid"}, claims, signature),
    ]


def authorizations(credentials: Credentials, roles: tuple[str, ...]
                   ) -> st.SearchStrategy[str | None]:
    """Authorization header values for an endpoint needing `roles`: mostly callers allowed to
    reach the body checks, and every kind of refused or malformed credential."""
    allowed = credentials.senders if roles else credentials.users + credentials.senders
    good = st.sampled_from(allowed)
    refused = st.one_of(
        st.sampled_from(credentials.invalid),
        st.sampled_from(credentials.users) if roles else st.sampled_from(credentials.invalid),
        st.none(),
        good.map(lambda v: v.replace("Bearer ", "bearer  ", 1)),
        good.map(lambda v: v.replace("Bearer ", "Basic ", 1)),
        good.map(lambda v: f"{v}, {v}"),
        hostile_text.map(lambda v: "Bearer " + v),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60),
    )
    # Two in three requests carry a good credential, so most reach the body checks.
    return weighted((2, good), (1, refused))
