"""The ACS client against the emulator: every identity operation, auth failures, error mapping."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from azure.identity import ManagedIdentityCredential

from emulator.client import EmulatorClient
from shared.clients.acs import AcsClient
from shared.errors import IdentityGone, UpstreamError, UpstreamUnavailable


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


def test_acs_client_zero_retry_budget_one_attempt(
    emulator: EmulatorClient, emulator_settings: dict[str, str]
) -> None:
    acs = AcsClient(emulator_settings["ACS_ENDPOINT"], ManagedIdentityCredential(),
                    retry_seconds=0)
    assert acs.create_identity().id
    emulator.fault("identity.create", 503, count=1)
    with pytest.raises(UpstreamUnavailable):
        acs.create_identity()
    assert emulator.counters()["identity.create"] == 2


@pytest.mark.parametrize("status", [500, 504])
def test_acs_client_create_outcome_unknown_not_retried(
    status: int, acs: AcsClient, emulator: EmulatorClient
) -> None:
    emulator.fault("identity.create", status, count=1)
    with pytest.raises(UpstreamUnavailable):
        acs.create_identity()
    assert emulator.counters()["identity.create"] == 1


def test_acs_client_issue_token_server_error_retried(
    acs: AcsClient, emulator: EmulatorClient
) -> None:
    identity = acs.create_identity().id
    emulator.fault("identity.issueToken", 500, count=1)
    assert acs.issue_token(identity, ["chat"], 60).token
    assert emulator.counters()["identity.issueToken"] == 2


class _StaticCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("static", int(time.time()) + 3600)


class _CannedAdapter(requests.adapters.BaseAdapter):
    """Answers every request with one fixed response."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__()
        self.status, self.body = status, body

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        headers = {"Content-Type": "application/json", "Content-Length": str(len(self.body))}
        raw = urllib3.HTTPResponse(body=io.BytesIO(self.body), status=self.status,
                                   headers=headers, preload_content=False)
        response = requests.Response()
        response.status_code, response.raw = self.status, raw
        response.headers.update(headers)
        response.url, response.request = str(request.url), request
        return response

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    "body", [b"<html>gateway</html>", b'"just a string"', b'{"identity": "8:acs:x"}', b"{}"],
    ids=["html", "string", "identity_not_object", "empty_object"],
)
def test_acs_client_unusable_success_body_upstream_error(body: bytes) -> None:
    # The emulator always answers well-formed JSON; a proxy or a broken deployment may not,
    # so this one test feeds the client canned answers through its transport.
    session = requests.Session()
    session.mount("https://", _CannedAdapter(201, body))
    acs = AcsClient("https://contoso.communication.azure.com", _StaticCredential(),
                    retry_seconds=0, transport=RequestsTransport(session=session))
    with pytest.raises(UpstreamError) as raised:
        acs.create_identity()
    assert raised.value.status == 502
