"""Drives the emulator's Chat API with the official azure-communication-chat package and user
tokens from the emulator's Identity API (azure-communication-identity), as a client app would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import jwt
import pytest
from azure.communication.chat import (
    ChatClient,
    ChatMessageType,
    ChatParticipant,
    CommunicationTokenCredential,
    CommunicationUserIdentifier,
)
from azure.communication.identity import CommunicationIdentityClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from emulator.client import EmulatorClient
from tests.emulator.chat_http import ChatHttp


@pytest.fixture
def identity(emulator: EmulatorClient) -> CommunicationIdentityClient:
    return CommunicationIdentityClient.from_connection_string(
        emulator.settings["EMULATOR_CONNECTION_STRING"])


def _access_token(token: str) -> AccessToken:
    """The chat credential wants the expiry as epoch seconds; the token itself carries it."""
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    return AccessToken(token, int(exp))


def _client(emulator: EmulatorClient, credential: CommunicationTokenCredential) -> ChatClient:
    return ChatClient(emulator.settings["ACS_ENDPOINT"], credential,
                      connection_verify=emulator.settings["REQUESTS_CA_BUNDLE"])


@pytest.fixture
def two_users(identity: CommunicationIdentityClient
              ) -> Iterator[tuple[tuple[CommunicationUserIdentifier, str], ...]]:
    users = []
    for _ in range(2):
        user, token = identity.create_user_and_token(["chat"])
        users.append((user, token.token))
    yield tuple(users)


def test_sdk_chat_two_users_thread_messages_receipts_typing(
    emulator: EmulatorClient, two_users: tuple[tuple[CommunicationUserIdentifier, str], ...]
) -> None:
    (alice, alice_token), (bob, bob_token) = two_users
    alice_chat = _client(emulator, CommunicationTokenCredential(alice_token))
    bob_chat = _client(emulator, CommunicationTokenCredential(bob_token))
    created = alice_chat.create_chat_thread("Lunch", thread_participants=[
        ChatParticipant(identifier=alice, display_name="Alice")])
    assert not created.errors
    thread_id = created.chat_thread.id
    alice_thread = alice_chat.get_chat_thread_client(thread_id)
    alice_thread.add_participants([ChatParticipant(
        identifier=bob, display_name="Bob", share_history_time=dt.datetime.now(dt.UTC)
        - dt.timedelta(hours=1))])
    bob_thread = bob_chat.get_chat_thread_client(thread_id)
    assert bob_thread.get_properties().topic == "Lunch"
    assert {p.identifier.properties["id"]: p.display_name
            for p in bob_thread.list_participants()} == {alice.properties["id"]: "Alice",
                                                         bob.properties["id"]: "Bob"}

    hello = alice_thread.send_message("Hello Bob", sender_display_name="Alice",
                                      metadata={"tag": "greeting"}).id
    reply = bob_thread.send_message("<p>Hi Alice</p>", chat_message_type=ChatMessageType.HTML).id
    texts = [m for m in alice_thread.list_messages(results_per_page=2)
             if m.type in (ChatMessageType.TEXT, ChatMessageType.HTML)]
    assert [(m.id, m.content.message) for m in texts] == [(reply, "<p>Hi Alice</p>"),
                                                          (hello, "Hello Bob")]
    assert texts[1].sender.properties["id"] == alice.properties["id"]
    assert texts[1].metadata == {"tag": "greeting"}

    alice_thread.update_message(hello, content="Hello again")
    edited = bob_thread.get_message(hello)
    assert (edited.content.message, edited.edited_on is not None) == ("Hello again", True)
    bob_thread.send_read_receipt(hello)
    receipts = list(alice_thread.list_read_receipts())
    assert [(r.sender.properties["id"], r.chat_message_id) for r in receipts] == [
        (bob.properties["id"], hello)]
    bob_thread.send_typing_notification(sender_display_name="Bob")
    assert emulator.counters()["chat.sendTyping"] == 1

    alice_thread.delete_message(hello)
    assert bob_thread.get_message(hello).deleted_on is not None
    alice_thread.update_topic("Dinner")
    assert bob_thread.get_properties().topic == "Dinner"
    assert [t.id for t in bob_chat.list_chat_threads()] == [thread_id]

    alice_thread.remove_participant(bob)
    with pytest.raises(HttpResponseError) as refused:
        bob_thread.send_message("still here?")
    assert refused.value.status_code == 403
    alice_chat.delete_chat_thread(thread_id)
    assert [t.deleted_on is not None for t in alice_chat.list_chat_threads()] == [True]


def test_sdk_chat_create_thread_idempotency_token_replays(
    emulator: EmulatorClient, two_users: tuple[tuple[CommunicationUserIdentifier, str], ...]
) -> None:
    (_, token), _ = two_users
    client = _client(emulator, CommunicationTokenCredential(token))
    first = client.create_chat_thread("Once", idempotency_token="7b0c5d3e-1111-4a4a-9b9b-1234")
    again = client.create_chat_thread("Once", idempotency_token="7b0c5d3e-1111-4a4a-9b9b-1234")
    assert first.chat_thread.id == again.chat_thread.id
    assert len(list(client.list_chat_threads())) == 1


def test_sdk_chat_refresher_renews_token_close_to_expiry(
    emulator: EmulatorClient, identity: CommunicationIdentityClient, chat: ChatHttp
) -> None:
    """A token 5 minutes from expiry is inside the credential's 10-minute proactive window:
    the refresher fetches a new one from the Identity API and chat goes on with it."""
    user = identity.create_user()
    short = chat.admin_token(user.properties["id"], 300)
    refreshed: list[str] = []

    def refresher() -> AccessToken:
        token = identity.get_token(user, ["chat"]).token
        refreshed.append(token)
        return _access_token(token)

    with CommunicationTokenCredential(short, token_refresher=refresher,
                                      proactive_refresh=True) as credential:
        client = _client(emulator, credential)
        thread_id = client.create_chat_thread("Refreshed").chat_thread.id
        assert credential.get_token().token != short
    assert refreshed
    assert emulator.verify_token(refreshed[-1]) == {"valid": True}
    assert thread_id in [t["id"] for t in chat.threads()]


def test_sdk_chat_revoked_token_refused_401(
    emulator: EmulatorClient, identity: CommunicationIdentityClient
) -> None:
    user, token = identity.create_user_and_token(["chat"])
    client = _client(emulator, CommunicationTokenCredential(token.token))
    thread_id = client.create_chat_thread("Before").chat_thread.id
    identity.revoke_tokens(user)
    with pytest.raises(ClientAuthenticationError) as refused:
        client.get_chat_thread_client(thread_id).send_message("after revoke")
    assert refused.value.status_code == 401


def test_sdk_chat_deleted_identity_refused_401(
    emulator: EmulatorClient, identity: CommunicationIdentityClient
) -> None:
    user, token = identity.create_user_and_token(["chat"])
    client = _client(emulator, CommunicationTokenCredential(token.token))
    client.create_chat_thread("Before")
    identity.delete_user(user)
    with pytest.raises(ClientAuthenticationError):
        list(client.list_chat_threads())


def test_sdk_chat_join_scope_cannot_create_thread_403(
    emulator: EmulatorClient, identity: CommunicationIdentityClient
) -> None:
    _, token = identity.create_user_and_token(["chat.join"])
    client = _client(emulator, CommunicationTokenCredential(token.token))
    with pytest.raises(HttpResponseError) as refused:
        client.create_chat_thread("Not allowed")
    assert refused.value.status_code == 403
    assert refused.value.error is not None and refused.value.error.code == "Forbidden"
