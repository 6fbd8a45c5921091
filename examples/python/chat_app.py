"""A chat app's use of this service: ACS tokens from POST /api/token, kept fresh by the Chat SDK.

`ServiceTokens.fetch` is the token refresher: the SDK's credential calls it whenever its
token is about to expire, and it asks the service with the user's sign-in token.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

import requests
from azure.communication.chat import (
    ChatClient,
    ChatParticipant,
    CommunicationTokenCredential,
    CommunicationUserIdentifier,
)
from azure.core.credentials import AccessToken

logger = logging.getLogger(__name__)


# [START service_tokens]
class ServiceTokens:
    """ACS user access tokens for the signed-in user, from the service's POST /api/token."""

    def __init__(
        self,
        functions_url: str,
        sign_in: Callable[[], str],
        *,
        scopes: Sequence[str] = ("chat",),
        expires_in_minutes: int | None = None,
    ) -> None:
        self.url = f"{functions_url.rstrip('/')}/api/token"
        self.sign_in = sign_in  # returns the user's current sign-in (app) token
        self.body: dict[str, object] = {"scopes": list(scopes)}
        if expires_in_minutes is not None:
            self.body["expiresInMinutes"] = expires_in_minutes
        self.user_id = ""  # the user's ACS identity, known after the first fetch

    def fetch(self) -> AccessToken:
        """The token refresher: a new ACS token for this user, with its expiry."""
        response = requests.post(
            self.url,
            json=self.body,
            headers={"Authorization": f"Bearer {self.sign_in()}"},
            timeout=30,
        )
        response.raise_for_status()
        issued = response.json()
        self.user_id = issued["communicationUserId"]
        expires_on = dt.datetime.fromisoformat(issued["expiresOn"])
        return AccessToken(issued["token"], int(expires_on.timestamp()))


def chat_credential(tokens: ServiceTokens) -> CommunicationTokenCredential:
    """A credential that refreshes through the service before its token expires.

    Use it in a `with` block (or call `close`): proactive refresh runs on a timer thread.
    """
    return CommunicationTokenCredential(
        tokens.fetch().token,
        token_refresher=tokens.fetch,
        proactive_refresh=True,
    )
# [END service_tokens]


# [START start_chat]
def start_chat(
    acs_endpoint: str, tokens: ServiceTokens, topic: str, other_user: str, my_name: str
) -> str:
    """Create a thread, add the other user and say hello; returns the thread id."""
    with chat_credential(tokens) as credential, ChatClient(acs_endpoint, credential) as chat:
        thread = chat.create_chat_thread(topic).chat_thread
        thread_client = chat.get_chat_thread_client(thread.id)
        thread_client.add_participants([
            ChatParticipant(identifier=CommunicationUserIdentifier(other_user))
        ])
        thread_client.send_message("Hello!", sender_display_name=my_name)
        return str(thread.id)
# [END start_chat]


# [START sign_out]
def sign_out_everywhere(functions_url: str, sign_in_token: str) -> None:
    """Revoke every ACS token the user holds, on every device; the identity stays."""
    response = requests.post(
        f"{functions_url.rstrip('/')}/api/identities/me/revoke",
        headers={"Authorization": f"Bearer {sign_in_token}"},
        timeout=30,
    )
    response.raise_for_status()  # 204


def delete_my_identity(functions_url: str, sign_in_token: str) -> None:
    """Delete the user's ACS identity and the service's records of it; safe to retry."""
    response = requests.delete(
        f"{functions_url.rstrip('/')}/api/identities/me",
        headers={"Authorization": f"Bearer {sign_in_token}"},
        timeout=30,
    )
    response.raise_for_status()  # 204, also when there was nothing to delete
# [END sign_out]
