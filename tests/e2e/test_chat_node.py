"""Node chat client end to end: examples/node/chat.mjs with @azure/communication-chat from the
project's package.json, tokens from POST /api/token through its refresher, against the stack.

The script prints JSON events, signing Alice out everywhere and deleting her account through the
service's own routes; the test checks the emulator's state too (not the script's word alone).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from azure.communication.chat import (
    ChatClient,
    ChatMessageType,
    CommunicationTokenCredential,
    CommunicationUserIdentifier,
)
from azure.communication.identity import CommunicationIdentityClient, CommunicationTokenScope

from emulator.client import EmulatorClient
from examples.python.chat_app import ServiceTokens
from shared.config.settings import TOKEN_MINUTES_MIN
from tests.e2e.conftest import Functions, token_expiring_in

SCRIPT = Path("examples") / "node" / "chat.mjs"
REFRESH_DRIVER = Path("tests") / "e2e" / "node_refresh.mjs"


def _node() -> str:
    node = shutil.which("node")
    assert node, "Node.js 20+ is required (see the README's prerequisites)"
    return node


def test_chat_node_example_two_users_chat_refresher_used_sign_out_and_delete_refused(
    functions: Functions, emulator: EmulatorClient, repo_root: Path,
    identity_admin: CommunicationIdentityClient,
) -> None:
    env = {
        **os.environ,
        "FUNCTIONS_URL": functions.url,
        "ACS_ENDPOINT": emulator.settings["ACS_ENDPOINT"],
        "AUTH_ISSUER": emulator.settings["AUTH_ISSUER"],
        "NODE_EXTRA_CA_CERTS": emulator.settings["REQUESTS_CA_BUNDLE"],
    }
    done = subprocess.run([_node(), str(SCRIPT)], cwd=repo_root, env=env, text=True,
                          capture_output=True, timeout=120)

    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    chatted, lifecycle = (json.loads(line) for line in done.stdout.splitlines())
    alice, bob = chatted["alice"], chatted["bob"]
    assert chatted["event"] == "chatted"
    assert set(chatted["participants"]) == {alice, bob}
    assert chatted["messages"] == [
        {"sender": alice, "text": "Hello!"},
        {"sender": bob, "text": "Hi Alice, noon works"},
    ]
    assert set(chatted["threads"]) <= set(chatted["bobsThreads"])
    assert chatted["topic"] == "Football"
    # Every token the SDK used came through the refresher, i.e. from the service.
    assert chatted["refreshes"]["alice"] >= 1
    assert chatted["refreshes"]["bob"] >= 1
    # Sign out everywhere, then delete, through the service's own routes.
    assert lifecycle == {
        "event": "lifecycle", "user": alice, "afterSignOut": 401, "afterNewToken": 200,
        "sameIdentity": alice, "afterDelete": 401, "newIdentity": lifecycle["newIdentity"],
        "newThreadCreatedBy": lifecycle["newIdentity"],
    }
    assert lifecycle["newIdentity"] not in (alice, bob)
    # The emulator's own state: the service made one revoke and one delete call; Alice's
    # first identity is gone and her new one is live; the threads are as ACS holds them,
    # read with a token for Bob issued by the ACS SDK.
    counters = emulator.counters()
    assert counters["identity.revokeTokens"] == 1
    assert counters["identity.delete"] == 1
    states = {i["id"]: i["state"] for i in emulator.identities()}
    assert states[alice] == "deleted"
    assert states[bob] == states[lifecycle["newIdentity"]] == "active"
    threads = {t["id"]: t for t in emulator.http.get(
        f"{emulator.admin}/chat/threads", timeout=10).json()}
    assert {threads[t]["topic"] for t in chatted["threads"]} == {"Lunch", "Football"}
    assert all(set(threads[t]["participants"]) == {alice, bob} for t in chatted["threads"])
    bobs = identity_admin.get_token(
        CommunicationUserIdentifier(bob), [CommunicationTokenScope.CHAT]
    )
    with CommunicationTokenCredential(bobs.token) as credential, ChatClient(
        emulator.settings["ACS_ENDPOINT"], credential
    ) as chat:
        thread = chat.get_chat_thread_client(chatted["threads"][0])
        stored = [
            (m.sender.properties["id"], m.content.message)
            for m in thread.list_messages() if m.type == ChatMessageType.TEXT
        ]
    assert sorted(stored) == sorted([(alice, "Hello!"), (bob, "Hi Alice, noon works")])


def test_chat_node_saved_token_near_expiry_refreshed_proactively_through_service(
    functions: Functions, emulator: EmulatorClient, repo_root: Path
) -> None:
    sign_in = emulator.mint(f"node-carol-{uuid.uuid4().hex[:8]}")
    carol = ServiceTokens(functions.url, lambda: sign_in)
    carol.fetch()  # her ACS identity exists, as for any returning user
    stale = token_expiring_in(emulator, carol.user_id, 6)
    issued_before = emulator.counters()["identity.issueToken"]

    done = subprocess.run(
        [_node(), str(REFRESH_DRIVER)], cwd=repo_root, capture_output=True, text=True,
        timeout=90, env={
            **os.environ,
            "FUNCTIONS_URL": functions.url,
            "ACS_ENDPOINT": emulator.settings["ACS_ENDPOINT"],
            "SIGN_IN_TOKEN": sign_in,
            "STALE_TOKEN": stale,
            "NODE_EXTRA_CA_CERTS": emulator.settings["REQUESTS_CA_BUNDLE"],
        },
    )

    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    # The SDK's own timer refreshed it (at half the time left), before the saved one expired.
    assert result["refreshes"] == 1
    assert result["refreshedAfterMs"] < 6000
    assert result["tokenChanged"] is True
    assert result["expiresInMs"] > (TOKEN_MINUTES_MIN - 1) * 60_000
    assert result["createdBy"] == carol.user_id
    assert emulator.counters()["identity.issueToken"] == issued_before + 1
