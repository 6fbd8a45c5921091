"""Property-based messages on the `sms-outbox` queue, through the local host's queue trigger:
each ends processed (sent, or nothing to send) or dead-lettered, never retried towards the
poison queue, and a dead-lettered message sends nothing.

The run has a stack of its own (emulator, local host, tables; Azurite is shared, and the HTTP
tests' host leaves the queue triggers off) and a process of its own (tests/fuzz/outbox_run.py),
while the HTTP tests run: its ACS calls and table writes are none of theirs, so their
side-effect checks stay exact.

An idempotency key appears at most once per batch (keys recur across batches, so replays and
reuse for another body happen): two messages with one key processed at the same time get a
Conflict, and the second is redelivered after the visibility timeout by design.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.storage.queue import QueueClient
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from emulator.client import EmulatorClient
from tests.e2e.conftest import Functions, empty_queue
from tests.fuzz.endpoints import endpoints, queue_message_schema
from tests.fuzz.probe import TALLY
from tests.fuzz.profiles import Profile
from tests.fuzz.stacks import own_stack
from tests.fuzz.strategies import bodies, from_schema, weighted
from tests.fuzz.traffic import KEY_POOL

QUEUE = "queue sms-outbox"
TRIGGER_QUEUES = ("sms-outbox", "identity-events")
BATCH = 50  # messages dropped together; the trigger takes them one at a time (host.json)
SETTLE_SECONDS = 60  # the longest a batch may take to leave the queue
QUEUE_MAX_BYTES = 64 * 1024
_ENDS = ("processed", "dead-lettered")


@dataclass(frozen=True)
class Dropped:
    id: str
    body: bytes
    base64: bool  # False: deliberately not base64, which the host poisons without a call


def _key_of(message: tuple[bytes, bool]) -> Hashable:
    """The message's idempotency key, or the message itself when it has none."""
    try:
        value = json.loads(message[0])
    except (ValueError, RecursionError):
        return message
    key = value.get("idempotencyKey") if isinstance(value, dict) else None
    return ("key", key) if isinstance(key, str) else message


def _examples() -> tuple[Any, ...]:
    sms = next(e for e in endpoints() if e.operation_id == "sendSms")
    keyed = [{**example, "idempotencyKey": key} for example in sms.examples for key in KEY_POOL]
    return (*sms.examples, *keyed)


def messages() -> st.SearchStrategy[tuple[bytes, bool]]:
    valid = from_schema(queue_message_schema(), _examples())
    # A queue message holds 64 KiB of base64: at most 48 KiB of body.
    raw = bodies(valid).map(lambda body: (body.raw or b"")[:QUEUE_MAX_BYTES * 3 // 4])
    return weighted((15, raw.map(lambda b: (b, True))),
                    (1, st.binary(max_size=60).map(lambda b: (b, False))))


class Outbox:
    """Drops messages on a trigger queue (`queue`) and watches where each one ends."""

    def __init__(self, queues: dict[str, QueueClient], functions: Functions,
                 emulator: EmulatorClient, queue: str = "sms-outbox") -> None:
        self.queues = queues
        self.functions = functions
        self.emulator = emulator
        self.queue = queue

    def drop(self, batch: list[tuple[bytes, bool]]) -> list[Dropped]:
        dropped = []
        for body, encoded in batch:
            content = _content_of(Dropped("", body, encoded))
            stored = self.queues[self.queue].send_message(content)
            dropped.append(Dropped(stored.id, body, encoded))
        return dropped

    def settle(self, dropped: list[Dropped], log_start: int) -> dict[str, str]:
        """Each message's outcome: processed, dead-lettered, poison, retried or not settled."""
        outcome: dict[str, str] = {}
        deadline = time.monotonic() + SETTLE_SECONDS
        left = len(dropped)
        while True:
            # Counted before the sweep: a message is deleted after its dead letter is written.
            left = self._left()
            self._sweep(dropped, outcome, log_start)
            if left == 0 or time.monotonic() > deadline or "retried" in outcome.values():
                break
            time.sleep(0.1)
        for d in dropped:
            # Still queued: at the deadline, or when the sweep stopped at a retried message.
            outcome.setdefault(d.id, "processed" if left == 0 else "not settled")
        return outcome

    def deliver(self, batch: list[tuple[bytes, bool]], tally: str
                ) -> tuple[list[Dropped], dict[str, str]]:
        """Drop a batch and wait for it; every message must end processed or dead-lettered,
        or (not base64) in the poison queue. Returns the messages and their outcomes."""
        log_start = self.functions.log.stat().st_size
        dropped = self.drop(batch)
        outcome = self.settle(dropped, log_start)
        for d in dropped:
            TALLY.add(tally, outcome[d.id])
        wrong = [(d.id, outcome[d.id], d.body[:200]) for d in dropped
                 if outcome[d.id] not in (_ENDS if d.base64 else ("poison",))]
        log = self.log_lines(log_start, {d.id for d in dropped if outcome[d.id] != "processed"})
        assert not wrong, f"messages that did not end processed or dead-lettered: {wrong}\n{log}"
        return dropped, outcome

    def _left(self) -> int:
        count = self.queues[self.queue].get_queue_properties().approximate_message_count
        return count or 0

    def _sweep(self, dropped: list[Dropped], outcome: dict[str, str], log_start: int) -> None:
        for message in self._drain(f"{self.queue}-deadletter"):
            document = json.loads(message)
            assert _dead_letter_valid(document), document
            outcome[document["messageId"]] = "dead-lettered"
        for content in self._drain(f"{self.queue}-poison"):
            match = next((d.id for d in dropped
                          if _content_of(d) == content and d.id not in outcome), None)
            assert match is not None, f"an unknown message was poisoned: {content[:80]!r}"
            outcome[match] = "poison"
        ids = {d.id for d in dropped}
        for failed in re.findall(r"failed on message (\S+)", self._log(log_start)):
            if failed in ids:
                outcome[failed] = "retried"

    def _drain(self, name: str) -> list[str]:
        contents = []
        while batch := list(self.queues[name].receive_messages(max_messages=32)):
            for message in batch:
                self.queues[name].delete_message(message)
                contents.append(base64.b64decode(message.content).decode("utf-8")
                                if name.endswith("deadletter") else message.content)
        return contents

    def log_lines(self, start: int, ids: set[str]) -> str:
        return "\n".join(line for line in self._log(start).splitlines()
                         if any(i in line for i in ids))

    def _log(self, start: int) -> str:
        with self.functions.log.open("rb") as log:
            log.seek(start)
            return log.read().decode("utf-8", errors="replace")


def _content_of(dropped: Dropped) -> str:
    if dropped.base64:
        return base64.b64encode(dropped.body).decode()
    return "!" + dropped.body.hex()


def _dead_letter_valid(document: dict[str, Any]) -> bool:
    size = len(json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return (isinstance(document.get("reason"), str) and isinstance(document.get("errors"), list)
            and isinstance(document.get("body"), str) and "Traceback" not in str(document)
            and size <= QUEUE_MAX_BYTES * 3 // 4)


def _text_of(body: bytes) -> str | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    text = value.get("message") if isinstance(value, dict) else None
    return text if isinstance(text, str) else None


def fuzz_outbox(outbox: Outbox, profile: Profile) -> None:
    """Drops `profile.requests` messages in batches; raises at the first batch that fails."""
    emulator = outbox.emulator
    started = time.perf_counter()

    # No shrinking: each step would be a batch of its own; the report names the messages.
    @settings(profile.settings, max_examples=profile.requests // BATCH,
              phases=(Phase.explicit, Phase.reuse, Phase.generate))
    @given(st.lists(messages(), min_size=BATCH, max_size=BATCH, unique_by=_key_of))
    def deliver(batch: list[tuple[bytes, bool]]) -> None:
        already = len(emulator.sms())
        dropped, outcome = outbox.deliver(batch, QUEUE)
        # A dead-lettered message sent nothing: its text is in no SMS sent for this batch
        # (unless a processed message of the batch had the same text).
        sent = {entry["message"] for entry in emulator.sms()[already:]}
        processed = {_text_of(d.body) for d in dropped if outcome[d.id] == "processed"}
        leaked = [text for d in dropped if outcome[d.id] == "dead-lettered"
                  and (text := _text_of(d.body)) in sent and text not in processed]
        assert not leaked, f"dead-lettered messages were sent: {leaked}"

    try:
        deliver()
    finally:
        TALLY.seconds[QUEUE] += time.perf_counter() - started


@contextlib.contextmanager
def outbox_stack(azurite: dict[str, str], workdir: Path, cors_origin: str
                 ) -> Iterator[Outbox]:
    """An emulator and a local host of the queue runs' own, the trigger queues emptied."""
    with own_stack(azurite, workdir, cors_origin) as (functions, emulator):
        connection = azurite["AZURITE_CONNECTION_STRING"]
        queues = {name + suffix: QueueClient.from_connection_string(connection, name + suffix)
                  for name in TRIGGER_QUEUES for suffix in ("", "-deadletter", "-poison")}
        for client in queues.values():
            empty_queue(client)
        yield Outbox(queues, functions, emulator)
