"""Node chat client end to end: examples/node/chat.mjs with @azure/communication-chat from the
project's package.json, tokens from POST /api/token through its refresher, against the stack.

The script prints JSON events; the test revokes the user's tokens when it asks, and checks the
emulator's state through the ACS SDKs (not the script's word alone).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

from azure.communication.chat import (
    ChatClient,
    ChatMessageType,
    CommunicationTokenCredential,
    CommunicationUserIdentifier,
)
from azure.communication.identity import CommunicationIdentityClient, CommunicationTokenScope

from examples.python.chat_app import ServiceTokens
from shared.config.settings import TOKEN_MINUTES_MIN
from tests.e2e.conftest import Functions, token_expiring_in
from tests.support import EmulatorClient

SCRIPT = Path("examples") / "node" / "chat.mjs"
REFRESH_DRIVER = Path("tests") / "e2e" / "node_refresh.mjs"


def _node() -> str:
    node = shutil.which("node")
    assert node, "Node.js 20+ is required (see the README's prerequisites)"
    return node


class _Events:
    """The script's stdout as a queue of JSON events, read on a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def next(self, timeout: float = 90) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty as error:
            raise AssertionError("the Node script printed nothing in time") from error
        event: dict[str, Any] = json.loads(line)
        assert event["event"] != "error", event
        return event


def test_chat_node_example_two_users_chat_refresher_used_revoked_call_refused(
    functions: Functions, emulator: EmulatorClient, repo_root: Path,
    identity_admin: CommunicationIdentityClient,
) -> None:
    node = _node()
    env = {
        **os.environ,
        "FUNCTIONS_URL": functions.url,
        "ACS_ENDPOINT": emulator.settings["ACS_ENDPOINT"],
        "AUTH_ISSUER": emulator.settings["AUTH_ISSUER"],
        "NODE_EXTRA_CA_CERTS": emulator.settings["REQUESTS_CA_BUNDLE"],
    }
    process = subprocess.Popen(
        [node, str(SCRIPT)], cwd=repo_root, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        events = _Events(process)
        chatted = events.next()
        revoke = events.next()
        # Stands in for the service's own POST /api/identities/me/revoke until that route
        # lands: the same ACS call, made with the emulator's key through the ACS SDK.
        identity_admin.revoke_tokens(CommunicationUserIdentifier(revoke["user"]))
        assert process.stdin is not None
        process.stdin.write("revoked\n")
        process.stdin.flush()
        after = events.next()
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        stderr = process.stderr.read() if process.stderr else ""
    alice, bob = chatted["alice"], chatted["bob"]

    assert chatted["event"] == "chatted", stderr
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
    assert revoke["user"] == alice
    assert after == {"event": "afterRevoke", "status": 401}
    # The emulator's own state: the identities the service created, and the thread as ACS
    # holds it, read with a token for Bob issued after the revocation of Alice's.
    assert {alice, bob} <= {i["id"] for i in emulator.identities()}
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
