"""Everything the emulator remembers between requests, behind one lock: identities, sent SMS,
opt-outs, the repeatability cache, chat, faults, counters, role assignments and OIDC keys."""

from __future__ import annotations

import heapq
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from emulator.chat_state import ChatStore
from emulator.keys import SigningKey

logger = logging.getLogger(__name__)

OPERATIONS = frozenset({
    "identity.create", "identity.delete", "identity.issueToken", "identity.revokeTokens",
    "identity.exchangeTeamsToken",
    "sms.send", "sms.optOuts.add", "sms.optOuts.remove", "sms.optOuts.check",
    "sms.deliveryReport", "mi.token", "oidc.discovery", "oidc.jwks", "oidc.mint",
    "sms.send.recipient",
    "chat.createThread", "chat.getThread", "chat.listThreads", "chat.updateThread",
    "chat.deleteThread", "chat.addParticipants", "chat.listParticipants",
    "chat.removeParticipant", "chat.sendMessage", "chat.getMessage", "chat.listMessages",
    "chat.updateMessage", "chat.deleteMessage", "chat.sendReadReceipt", "chat.listReadReceipts",
    "chat.sendTyping",
})
# Not a route: faults queued under this name fail single recipients inside a 202 send answer,
# and its counter counts the recipients they failed.
RECIPIENT_FAULT = "sms.send.recipient"


@dataclass
class IdentityRecord:
    id: str
    created_at: float
    deleted_at: float | None = None
    tokens_revoked_at: float | None = None
    tokens_issued: int = 0

    def public(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": self.id, "state": "active" if self.deleted_at is None else "deleted",
            "createdAt": self.created_at, "tokensIssued": self.tokens_issued,
        }
        if self.deleted_at is not None:
            view["deletedAt"] = self.deleted_at
        if self.tokens_revoked_at is not None:
            view["tokensRevokedAt"] = self.tokens_revoked_at
        return view


@dataclass
class Fault:
    status: int
    remaining: int
    retry_after: int | None = None
    latency_ms: int = 0
    to: str | None = None  # recipient faults only: None fails any recipient, else this one
    after_handling: bool = False  # the operation runs, then its answer is replaced


@dataclass
class RepeatRecord:
    content: str
    first_sent: float
    item: dict[str, Any]


@dataclass
class State:
    """Mutable emulator state. Callers hold `lock` for multi-step changes; the small
    methods here take it themselves."""

    oidc_keys: list[SigningKey]  # last one signs; all are published
    system_client_id: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    identities: dict[str, IdentityRecord] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    opt_outs: set[tuple[str, str]] = field(default_factory=set)
    repeatability: dict[str, RepeatRecord] = field(default_factory=dict)
    # (first sent, id) of each remembered id, oldest first: pruning looks only at the expired.
    _repeat_order: list[tuple[float, str]] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)
    assignments: set[str] = field(default_factory=set)
    chat: ChatStore = field(default_factory=ChatStore)

    def __post_init__(self) -> None:
        self.assignments = {self.system_client_id}

    def reset(self) -> None:
        """Back to a fresh start; signing keys and TLS stay as they are."""
        with self.lock:
            self.identities.clear()
            self.outbox.clear()
            self.messages.clear()
            self.opt_outs.clear()
            self.repeatability.clear()
            self._repeat_order.clear()
            self.faults.clear()
            self.counters.clear()
            self.chat.clear()
            self.assignments = {self.system_client_id}

    def count(self, operation: str) -> None:
        with self.lock:
            self.counters[operation] += 1

    def counter_view(self) -> dict[str, int]:
        with self.lock:
            return {name: self.counters[name] for name in sorted(OPERATIONS)}

    def add_fault(self, operation: str, fault: Fault) -> None:
        with self.lock:
            self.faults.setdefault(operation, []).append(fault)

    def take_fault(self, operation: str) -> Fault | None:
        """Consume one use of the oldest fault queued for this operation."""
        with self.lock:
            queue = self.faults.get(operation)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.pop(0)
            return fault

    def take_recipient_fault(self, to: str) -> Fault | None:
        """Consume one use of the oldest recipient fault that matches `to`, and count it."""
        with self.lock:
            queue = self.faults.get(RECIPIENT_FAULT, [])
            fault = next((f for f in queue if f.to is None or f.to == to), None)
            if fault is None:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.remove(fault)
            self.counters[RECIPIENT_FAULT] += 1
            return fault

    def record_sms(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.outbox.append(entry)
            self.messages[entry["messageId"]] = entry

    def signing_key(self) -> SigningKey:
        with self.lock:
            return self.oidc_keys[-1]

    def rotate_oidc_key(self, *, retain_previous: bool) -> SigningKey:
        # Generate outside the lock: RSA key generation takes tens of milliseconds.
        new_key = SigningKey.generate()
        with self.lock:
            previous = self.oidc_keys[-1:] if retain_previous else []
            self.oidc_keys = [*previous, new_key]
        return new_key

    def remember_repeat(self, request_id: str, record: RepeatRecord) -> None:
        with self.lock:
            self.repeatability[request_id] = record
            heapq.heappush(self._repeat_order, (record.first_sent, request_id))

    def prune_repeatability(self, now: float, window: float) -> None:
        """Forget the ids first sent more than `window` seconds ago: only those are looked at,
        so a send costs the same after a million remembered ids as after none."""
        with self.lock:
            order = self._repeat_order
            while order and now - order[0][0] > window:
                first_sent, request_id = heapq.heappop(order)
                record = self.repeatability.get(request_id)
                if record is not None and record.first_sent == first_sent:
                    del self.repeatability[request_id]

