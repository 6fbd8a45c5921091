"""Python chat client end to end: azure-communication-chat with tokens from POST /api/token.

Two app users sign in at the emulator's OIDC issuer, get ACS tokens from the service through
examples/python/chat_app.py, and chat through the emulator's Chat API; nothing is mocked.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from azure.communication.chat import (
    ChatClient,
    ChatMessageType,
    CommunicationTokenCredential,
)
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError

from emulator.client import EmulatorClient
from examples.python.chat_app import (
    ServiceTokens,
    chat_credential,
    delete_my_identity,
    sign_out_everywhere,
    start_chat,
)
from shared.config.settings import TOKEN_MINUTES_MIN
from tests.e2e.conftest import Functions, token_expiring_in

SignIn = Callable[..., ServiceTokens]


@pytest.fixture
def sign_in(functions: Functions, emulator: EmulatorClient) -> SignIn:
    """A new app user signed in at the local issuer, with the service as its token source."""

    def user(name: str, **options: Any) -> ServiceTokens:
        app_token = emulator.mint(f"chat-{name}-{uuid.uuid4().hex[:8]}")
        return ServiceTokens(functions.url, lambda: app_token, **options)

    return user


@pytest.fixture
def acs_endpoint(emulator: EmulatorClient) -> str:
    return emulator.settings["ACS_ENDPOINT"]


def _read_after(acs_endpoint: str, user: ServiceTokens, topic: str,
                action: Callable[[], None]) -> tuple[str, str, int | None]:
    """Start a thread with the user's token, do `action`, then read the thread with that same
    token, which must fail: the thread's id, the user's identity before, the read's status."""
    with chat_credential(user) as credential, ChatClient(acs_endpoint, credential) as chat:
        thread_id = chat.create_chat_thread(topic).chat_thread.id
        identity = user.user_id
        action()
        with pytest.raises(HttpResponseError) as refused:
            chat.get_chat_thread_client(thread_id).get_properties()
    return thread_id, identity, refused.value.status_code


def _texts(thread: Any) -> list[tuple[str, str]]:
    """(sender id, text) of the thread's text messages, oldest first, read two per page."""
    pages = thread.list_messages(results_per_page=2).by_page()
    messages = [m for page in pages for m in page if m.type == ChatMessageType.TEXT]
    return [(m.sender.properties["id"], m.content.message) for m in reversed(messages)]


def test_chat_python_two_users_add_each_other_exchange_and_list_messages(
    sign_in: SignIn, acs_endpoint: str, emulator: EmulatorClient
) -> None:
    alice, bob = sign_in("alice"), sign_in("bob")
    alice.fetch()
    bob.fetch()

    alices_thread = start_chat(acs_endpoint, alice, "Lunch", bob.user_id, "Alice")
    bobs_thread = start_chat(acs_endpoint, bob, "Football", alice.user_id, "Bob")
    with chat_credential(bob) as credential, ChatClient(acs_endpoint, credential) as chat:
        thread = chat.get_chat_thread_client(alices_thread)
        members = {p.identifier.properties["id"] for p in thread.list_participants()}
        thread.send_message("Hi Alice, noon works", sender_display_name="Bob")
        bobs_threads = {t.id for t in chat.list_chat_threads()}
    with chat_credential(alice) as credential, ChatClient(acs_endpoint, credential) as chat:
        thread = chat.get_chat_thread_client(alices_thread)
        thread.send_message("See you then", sender_display_name="Alice")
        seen_by_alice = _texts(thread)
        alices_threads = {t.id for t in chat.list_chat_threads()}
        topic = chat.get_chat_thread_client(bobs_thread).get_properties().topic

    assert members == {alice.user_id, bob.user_id}
    assert seen_by_alice == [
        (alice.user_id, "Hello!"),
        (bob.user_id, "Hi Alice, noon works"),
        (alice.user_id, "See you then"),
    ]
    assert {alices_thread, bobs_thread} <= bobs_threads
    assert {alices_thread, bobs_thread} <= alices_threads
    assert topic == "Football"
    # Both ACS identities were created by the service on first sign-in, none by the test.
    assert {alice.user_id, bob.user_id} <= {i["id"] for i in emulator.identities()}


def test_chat_python_token_near_expiry_refreshed_proactively_through_service(
    sign_in: SignIn, acs_endpoint: str, emulator: EmulatorClient
) -> None:
    alice = sign_in("alice", expires_in_minutes=TOKEN_MINUTES_MIN)  # the shortest ACS allows
    alice.fetch()
    # The token the app holds is about to expire (as one fetched 60 minutes ago would be):
    # the SDK refreshes within 10 minutes of expiry, on a timer at half the time left.
    stale = token_expiring_in(emulator, alice.user_id, 6)
    refreshed: list[AccessToken] = []
    ran = threading.Event()

    def refresher() -> AccessToken:
        token = alice.fetch()
        refreshed.append(token)
        ran.set()
        return token

    issued_before = emulator.counters()["identity.issueToken"]
    started = time.monotonic()
    with CommunicationTokenCredential(
        stale, token_refresher=refresher, proactive_refresh=True
    ) as credential:
        assert ran.wait(30), "the credential did not refresh on its own"
        waited = time.monotonic() - started
        current = credential.get_token()
        with ChatClient(acs_endpoint, credential) as chat:
            created = chat.create_chat_thread("After a refresh").chat_thread

    # Refreshed before the stale token expired, by the timer, not by a failing call.
    assert waited < 6
    assert len(refreshed) == 1
    assert current.token == refreshed[0].token != stale
    assert current.expires_on - time.time() > (TOKEN_MINUTES_MIN - 1) * 60
    assert emulator.counters()["identity.issueToken"] == issued_before + 1
    assert emulator.verify_token(current.token)["valid"] is True
    assert created.created_by.properties["id"] == alice.user_id


def test_chat_python_after_sign_out_everywhere_next_chat_call_refused_401(
    sign_in: SignIn, acs_endpoint: str, functions: Functions, emulator: EmulatorClient
) -> None:
    alice = sign_in("alice")
    thread_id, identity, status = _read_after(
        acs_endpoint, alice, "Before revoke",
        lambda: sign_out_everywhere(functions.url, alice.sign_in()))

    assert status == 401
    # The service itself made the one ACS revoke call, for this user's identity.
    assert emulator.counters()["identity.revokeTokens"] == 1
    revoked = {i["id"]: i for i in emulator.identities()}[identity]
    assert revoked["state"] == "active" and revoked["tokensRevokedAt"]
    # A token the service issues after the revocation is accepted again, same identity.
    with chat_credential(alice) as credential, ChatClient(acs_endpoint, credential) as chat:
        assert chat.get_chat_thread_client(thread_id).get_properties().topic == "Before revoke"
    assert alice.user_id == identity


def test_chat_python_after_delete_old_token_refused_401_new_identity_chats(
    sign_in: SignIn, acs_endpoint: str, functions: Functions, emulator: EmulatorClient
) -> None:
    alice, bob = sign_in("alice"), sign_in("bob")
    bob.fetch()
    _, old_identity, status = _read_after(
        acs_endpoint, alice, "Before delete",
        lambda: delete_my_identity(functions.url, alice.sign_in()))

    assert status == 401
    assert emulator.counters()["identity.delete"] == 1
    # The same sign-in gets a new, unrelated identity from /api/token, and it chats.
    new_thread = start_chat(acs_endpoint, alice, "After delete", bob.user_id, "Alice")
    states = {i["id"]: i["state"] for i in emulator.identities()}
    with chat_credential(bob) as credential, ChatClient(acs_endpoint, credential) as chat:
        seen_by_bob = _texts(chat.get_chat_thread_client(new_thread))

    assert alice.user_id != old_identity
    assert states[old_identity] == "deleted"
    assert states[alice.user_id] == "active"
    assert seen_by_bob == [(alice.user_id, "Hello!")]
