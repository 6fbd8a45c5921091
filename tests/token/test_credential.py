"""The service credential: managed identity where the platform offers one, never a secret."""

from __future__ import annotations

import uuid

import jwt
from azure.identity import (
    AzureCliCredential,
    AzureDeveloperCliCredential,
    ChainedTokenCredential,
    ManagedIdentityCredential,
)

from emulator.client import EmulatorClient
from shared.clients.acs import ACS_SCOPE
from shared.clients.credential import build_credential


def test_build_credential_platform_identity_endpoint_managed_identity(
    emulator: EmulatorClient, emulator_settings: dict[str, str]
) -> None:
    credential = build_credential(None, {"IDENTITY_ENDPOINT": "https://x", "IDENTITY_HEADER": "h"})
    assert isinstance(credential, ManagedIdentityCredential)
    # Against the emulator's endpoint (set in this process's environment) it really works.
    live = build_credential(None)
    assert live.get_token(ACS_SCOPE).token
    assert emulator.counters()["mi.token"] == 1


def test_build_credential_user_assigned_client_id_used(
    emulator: EmulatorClient, emulator_settings: dict[str, str]
) -> None:
    client_id = str(uuid.uuid4())
    token = build_credential(client_id).get_token(ACS_SCOPE).token
    # The token names the principal it was issued for (Entra's `appid` claim).
    assert jwt.decode(token, options={"verify_signature": False})["appid"] == client_id


def test_build_credential_no_platform_identity_developer_sign_in_only() -> None:
    credential = build_credential(None, {"AZURE_CLIENT_SECRET": "must-not-be-used"})
    assert isinstance(credential, ChainedTokenCredential)
    kinds = {type(c) for c in credential.credentials}
    assert kinds == {AzureCliCredential, AzureDeveloperCliCredential}
