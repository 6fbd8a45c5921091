"""Drives the emulator with the official azure-communication-identity and -sms packages, with
a managed identity credential and with a connection string."""

from __future__ import annotations

import base64
import datetime as dt
import os
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from azure.communication.identity import CommunicationIdentityClient, CommunicationTokenScope
from azure.communication.identity._generated._serialization import Deserializer
from azure.communication.sms import SmsClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import ManagedIdentityCredential
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.client import EmulatorClient
from tests.emulator.acs_http import AcsHttp

CREDENTIALS = ["connection_string", "managed_identity"]


class StaticToken:
    """A token credential that always hands out the given token (to send odd tokens)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


def _identity_client(settings: dict[str, str], kind: str) -> CommunicationIdentityClient:
    if kind == "connection_string":
        return CommunicationIdentityClient.from_connection_string(
            settings["EMULATOR_CONNECTION_STRING"])
    return CommunicationIdentityClient(settings["ACS_ENDPOINT"], ManagedIdentityCredential())


def _sms_client(settings: dict[str, str], kind: str) -> SmsClient:
    if kind == "connection_string":
        return SmsClient.from_connection_string(settings["EMULATOR_CONNECTION_STRING"])
    return SmsClient(settings["ACS_ENDPOINT"], ManagedIdentityCredential())


def _remaining(token: AccessToken) -> float:
    """Seconds until expiry. The SDK hands expiresOn through as text, so parse it with the
    SDK's own ISO-8601 deserializer (and check Python agrees)."""
    expires = Deserializer.deserialize_iso(token.expires_on)
    assert expires == dt.datetime.fromisoformat(str(token.expires_on))
    return float(expires.timestamp() - time.time())


def _verify(emulator: EmulatorClient, token: str) -> dict[str, Any]:
    response = emulator.http.post(f"{emulator.admin}/tokens/verify", json={"token": token},
                                  timeout=10)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize("kind", CREDENTIALS)
def test_sdk_identity_create_user_returns_identity_of_this_resource(
    emulator: EmulatorClient, kind: str
) -> None:
    user = _identity_client(emulator.settings, kind).create_user()
    assert user.properties["id"].startswith("8:acs:")
    assert [item["id"] for item in emulator.identities()] == [user.properties["id"]]


@pytest.mark.parametrize("kind", CREDENTIALS)
def test_sdk_identity_get_token_custom_expiry_honoured(emulator: EmulatorClient,
                                                       kind: str) -> None:
    client = _identity_client(emulator.settings, kind)
    user = client.create_user()
    token = client.get_token(user, [CommunicationTokenScope.CHAT, CommunicationTokenScope.VOIP],
                             token_expires_in=dt.timedelta(minutes=90))
    remaining = _remaining(token)
    assert 89 * 60 < remaining <= 90 * 60
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["acsScope"] == "chat,voip"
    assert claims["skypeid"] == user.properties["id"].removeprefix("8:")
    assert isinstance(claims["scp"], int)
    assert _verify(emulator, token.token) == {"valid": True}


@pytest.mark.parametrize("kind", CREDENTIALS)
def test_sdk_identity_get_token_default_expiry_is_24_hours(emulator: EmulatorClient,
                                                           kind: str) -> None:
    client = _identity_client(emulator.settings, kind)
    token = client.get_token(client.create_user(), ["chat"])
    assert 1439 * 60 < _remaining(token) <= 1440 * 60


@pytest.mark.parametrize("kind", CREDENTIALS)
@pytest.mark.parametrize("minutes", [59, 1441])
def test_sdk_identity_get_token_expiry_out_of_range_400(emulator: EmulatorClient, kind: str,
                                                        minutes: int) -> None:
    client = _identity_client(emulator.settings, kind)
    user = client.create_user()
    with pytest.raises(HttpResponseError) as raised:
        client.get_token(user, ["chat"], token_expires_in=dt.timedelta(minutes=minutes))
    assert raised.value.status_code == 400
    assert raised.value.error is not None and raised.value.error.code == "ValidationError"


@pytest.mark.parametrize("kind", CREDENTIALS)
def test_sdk_identity_create_user_and_token_returns_both(emulator: EmulatorClient,
                                                         kind: str) -> None:
    client = _identity_client(emulator.settings, kind)
    user, token = client.create_user_and_token(
        [CommunicationTokenScope.CHAT], token_expires_in=dt.timedelta(hours=2))
    assert 119 * 60 < _remaining(token) <= 120 * 60
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["skypeid"] == user.properties["id"].removeprefix("8:")


@pytest.mark.parametrize("kind", CREDENTIALS)
def test_sdk_identity_revoke_tokens_old_invalid_new_valid(emulator: EmulatorClient,
                                                           kind: str) -> None:
    client = _identity_client(emulator.settings, kind)
    user, old = client.create_user_and_token(["chat"])
    client.revoke_tokens(user)
    new = client.get_token(user, ["chat"])
    assert _verify(emulator, old.token) == {"valid": False, "reason": "revoked"}
    assert _verify(emulator, new.token) == {"valid": True}


@pytest.mark.parametrize("kind", CREDENTIALS)
def test_sdk_identity_delete_user_then_get_token_identity_not_owned(
    emulator: EmulatorClient, kind: str
) -> None:
    client = _identity_client(emulator.settings, kind)
    user, token = client.create_user_and_token(["voip"])
    client.delete_user(user)
    with pytest.raises(ClientAuthenticationError) as raised:
        client.get_token(user, ["chat"])
    assert raised.value.status_code == 401
    assert raised.value.error is not None and raised.value.error.code == "IdentityNotOwned"
    assert _verify(emulator, token.token)["valid"] is False
    assert emulator.identities()[0]["state"] == "deleted"


@pytest.mark.parametrize("kind", CREDENTIALS)
def test_sdk_sms_send_several_recipients_per_recipient_results(emulator: EmulatorClient,
                                                               kind: str) -> None:
    client = _sms_client(emulator.settings, kind)
    results = client.send(from_=emulator.settings["SMS_FROM"],
                          to=["+14255550101", "+1425555", "+14255550102"], message="Hello",
                          enable_delivery_report=True, tag="sdk")
    assert [(r.to, r.successful, r.http_status_code) for r in results] == [
        ("+14255550101", True, 202), ("+1425555", False, 400), ("+14255550102", True, 202)]
    assert results[1].error_message == "Invalid To phone number format."
    outbox = emulator.sms()
    assert [(m["to"], m["message"], m["tag"], m["messageId"]) for m in outbox] == [
        ("+14255550101", "Hello", "sdk", results[0].message_id),
        ("+14255550102", "Hello", "sdk", results[2].message_id)]
    # The SDK makes every send repeatable; the emulator keeps what it was given.
    assert all(m["repeatabilityRequestId"] and m["repeatabilityFirstSent"] for m in outbox)
    assert {m["apiVersion"] for m in outbox} == {"2021-03-07"}


def test_sdk_sms_send_unowned_sender_400(emulator: EmulatorClient) -> None:
    client = _sms_client(emulator.settings, "connection_string")
    with pytest.raises(HttpResponseError) as raised:
        client.send(from_="+14255550199", to="+14255550101", message="Hello")
    assert raised.value.status_code == 400
    assert emulator.sms() == []


def test_sdk_identity_wrong_access_key_401(emulator: EmulatorClient) -> None:
    endpoint = emulator.settings["ACS_ENDPOINT"]
    wrong = base64.b64encode(os.urandom(64)).decode()
    client = CommunicationIdentityClient.from_connection_string(
        f"endpoint={endpoint}/;accesskey={wrong}")
    with pytest.raises(ClientAuthenticationError) as raised:
        client.create_user()
    assert raised.value.status_code == 401
    assert emulator.identities() == []


def _foreign_key_token(acs: AcsHttp) -> str:
    """A token with every right claim, signed by a key the emulator never published."""
    genuine = jwt.decode(acs.mi_token(), options={"verify_signature": False})
    return jwt.encode(genuine, rsa.generate_private_key(65537, 2048), algorithm="RS256")


BAD_BEARERS: dict[str, Callable[[AcsHttp], str]] = {
    "expired": lambda acs: acs.admin_mi_token(ttl=-120),
    "wrong_audience": lambda acs: acs.admin_mi_token(resource="https://storage.azure.com/"),
    "foreign_key": _foreign_key_token,
    "not_a_jwt": lambda acs: "not-a-token",
}


@pytest.mark.parametrize("case", sorted(BAD_BEARERS))
def test_sdk_identity_bad_bearer_token_401(emulator: EmulatorClient, acs: AcsHttp,
                                           case: str) -> None:
    client = CommunicationIdentityClient(emulator.settings["ACS_ENDPOINT"],
                                         StaticToken(BAD_BEARERS[case](acs)))
    with pytest.raises(ClientAuthenticationError) as raised:
        client.create_user()
    assert raised.value.status_code == 401
    assert raised.value.error is not None
    assert raised.value.error.code == "InvalidAuthenticationToken"
    assert emulator.identities() == []


def test_sdk_sms_unassigned_user_assigned_identity_403_until_assigned(
    emulator: EmulatorClient,
) -> None:
    client_id = "5f0c8e4e-0000-4000-8000-00000000abcd"
    client = SmsClient(emulator.settings["ACS_ENDPOINT"],
                       ManagedIdentityCredential(client_id=client_id))

    def send() -> None:
        client.send(from_=emulator.settings["SMS_FROM"], to="+14255550101", message="Hi")

    with pytest.raises(HttpResponseError) as raised:
        send()
    assert raised.value.status_code == 403
    assert emulator.sms() == []
    assigned = emulator.http.post(f"{emulator.admin}/assignments", json={"clientId": client_id},
                                  timeout=10)
    assert client_id in assigned.json()["clientIds"]
    send()
    assert len(emulator.sms()) == 1
    emulator.http.delete(f"{emulator.admin}/assignments", json={"clientId": client_id},
                         timeout=10).raise_for_status()
    with pytest.raises(HttpResponseError) as again:
        send()
    assert again.value.status_code == 403
