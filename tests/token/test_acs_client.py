"""The ACS client against the emulator: every identity operation, auth failures, error mapping."""

from __future__ import annotations

import uuid

import pytest
from azure.identity import ManagedIdentityCredential

from shared.acs import AcsClient
from shared.errors import IdentityGone, UpstreamError
from tests.support import EmulatorClient


@pytest.fixture
def acs(emulator: EmulatorClient, emulator_settings: dict[str, str]) -> AcsClient:
    return AcsClient(emulator_settings["ACS_ENDPOINT"], ManagedIdentityCredential(),
                     retry_seconds=2)


def test_acs_client_create_issue_revoke_delete_round_trip(
    acs: AcsClient, emulator: EmulatorClient
) -> None:
    created = acs.create_identity()
    assert created.access_token is None
    token = acs.issue_token(created.id, ["chat"], 60)
    assert emulator.verify_token(token.token)["valid"] is True

    acs.revoke_tokens(created.id)
    assert emulator.verify_token(token.token)["valid"] is False

    acs.delete_identity(created.id)
    with pytest.raises(IdentityGone):
        acs.issue_token(created.id, ["chat"], 60)
    assert [i["state"] for i in emulator.identities()] == ["deleted"]


def test_acs_client_create_with_scopes_returns_token(acs: AcsClient) -> None:
    created = acs.create_identity(scopes=["voip"], expires_in_minutes=90)
    assert created.access_token is not None
    assert created.access_token.expires_on


def test_acs_client_identity_of_other_resource_gone(acs: AcsClient) -> None:
    foreign = "8:acs:2dee53b4-368b-45b4-ab52-8493fb117652_00000005-14a2-493b-8a72-5a3a0d000081"
    with pytest.raises(IdentityGone):
        acs.issue_token(foreign, ["chat"], 60)


def test_acs_client_unassigned_user_assigned_identity_refused(
    emulator: EmulatorClient, emulator_settings: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    client_id = str(uuid.uuid4())
    acs = AcsClient(emulator_settings["ACS_ENDPOINT"],
                    ManagedIdentityCredential(client_id=client_id), retry_seconds=2)

    with pytest.raises(UpstreamError) as raised:
        acs.create_identity()

    assert raised.value.status == 502
    assert "role assignment" in caplog.text
    assert emulator.identities() == []


def test_acs_client_assigned_user_assigned_identity_accepted(
    emulator: EmulatorClient, emulator_settings: dict[str, str]
) -> None:
    client_id = str(uuid.uuid4())
    emulator.assign(client_id)
    acs = AcsClient(emulator_settings["ACS_ENDPOINT"],
                    ManagedIdentityCredential(client_id=client_id), retry_seconds=2)
    assert acs.create_identity().id.startswith("8:acs:")
