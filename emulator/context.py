"""The emulated resource: the fixed names, secrets and keys made at start, plus the state."""

from __future__ import annotations

import base64
import logging
import secrets
import uuid
from dataclasses import dataclass, field

from emulator.keys import SigningKey
from emulator.state import State

logger = logging.getLogger(__name__)

DEFAULT_AUDIENCE = "api://acs-trusted-access"
DEFAULT_SMS_FROM = "+18005550100"
ACS_TOKEN_AUDIENCES = ("https://communication.azure.com", "https://communication.azure.com/")


@dataclass(frozen=True)
class Resource:
    """What a real deployment would have fixed: the ACS resource, its key and the tenant."""

    base_url: str  # e.g. https://127.0.0.1:8443, no trailing slash
    resource_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    tenant_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    access_key: bytes = field(default_factory=lambda: secrets.token_bytes(64), repr=False)
    identity_header: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    system_client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    system_object_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sms_from: str = DEFAULT_SMS_FROM
    audience: str = DEFAULT_AUDIENCE
    acs_key: SigningKey = field(default_factory=SigningKey.generate, repr=False)
    entra_key: SigningKey = field(default_factory=SigningKey.generate, repr=False)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/oidc"

    @property
    def entra_issuer(self) -> str:
        return f"{self.base_url}/msi/{self.tenant_id}/"

    def settings(self, ca_path: str) -> dict[str, str]:
        """The contract: what a client needs to reach every surface (DESIGN section 3)."""
        key = base64.b64encode(self.access_key).decode("ascii")
        return {
            "ACS_ENDPOINT": self.base_url,
            "IDENTITY_ENDPOINT": f"{self.base_url}/msi/token",
            "IDENTITY_HEADER": self.identity_header,
            "AUTH_ISSUER": self.issuer,
            "AUTH_AUDIENCE": self.audience,
            "REQUESTS_CA_BUNDLE": ca_path,
            "EMULATOR_CONNECTION_STRING": f"endpoint={self.base_url}/;accesskey={key}",
            "EMULATOR_ADMIN": f"{self.base_url}/admin",
            "SMS_FROM": self.sms_from,
        }


@dataclass(frozen=True)
class Context:
    resource: Resource
    state: State

    @classmethod
    def create(cls, base_url: str) -> Context:
        resource = Resource(base_url=base_url)
        state = State(oidc_keys=[SigningKey.generate()],
                      system_client_id=resource.system_client_id)
        return cls(resource, state)
