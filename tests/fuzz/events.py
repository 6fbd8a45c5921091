"""Property-based messages on the `identity-events` queue (`{"action", "userKey"}`), through
the local host's queue trigger, on the outbox run's stack (tests/fuzz/outbox.py): each ends
processed or dead-lettered (a valid dead-letter document), never retried towards the poison
queue (only a message that is not base64 goes there, by the host). A batch in which every
message was refused (dead-lettered or poisoned) changed no ACS counter and no table row.

The host takes one message at a time and the reads cannot be placed between two messages
of a batch, so a refused message in a batch that also had processed ones is checked for its
outcome only.
"""

from __future__ import annotations

import time

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from shared.identity.events import ACTIONS
from tests.fuzz.effects import SideEffects, changes
from tests.fuzz.endpoints import endpoints
from tests.fuzz.outbox import BATCH, QUEUE_MAX_BYTES, Outbox
from tests.fuzz.probe import TALLY
from tests.fuzz.profiles import Profile
from tests.fuzz.strategies import bodies, from_schema, hostile_text, weighted

EVENTS = "queue identity-events"


def _user_keys() -> st.SearchStrategy[str]:
    """User keys by openapi.yaml's `userKey` parameter (its pattern and examples)."""
    endpoint = next(e for e in endpoints() if e.operation_id == "getUserIdentity")
    schema = dict(endpoint.path_params)["userKey"]
    documented = [str(value) for value in schema.get("examples", [])]
    return weighted((3, from_schema(schema)), (2, st.sampled_from(documented)),
                    (1, hostile_text.map(lambda text: "oid:" + text)))


def event_messages() -> st.SearchStrategy[tuple[bytes, bool]]:
    valid = st.fixed_dictionaries({"action": st.sampled_from(ACTIONS) | hostile_text,
                                   "userKey": _user_keys()})
    raw = bodies(valid).map(lambda body: (body.raw or b"")[:QUEUE_MAX_BYTES * 3 // 4])
    return weighted((15, raw.map(lambda b: (b, True))),
                    (1, st.binary(max_size=60).map(lambda b: (b, False))))


def fuzz_events(events: Outbox, effects: SideEffects, profile: Profile) -> None:
    """Drops `profile.requests` messages in batches; raises at the first batch that fails."""
    started = time.perf_counter()

    @settings(profile.settings, max_examples=profile.requests // BATCH,
              phases=(Phase.explicit, Phase.reuse, Phase.generate))
    @given(st.lists(event_messages(), min_size=BATCH, max_size=BATCH))
    def deliver(batch: list[tuple[bytes, bool]]) -> None:
        before = effects.snapshot()
        _, outcome = events.deliver(batch, EVENTS)
        if "processed" not in outcome.values():
            changed = changes(before, effects.snapshot())
            assert not changed, f"side effect {changed} of a batch refused whole: {batch}"

    try:
        deliver()
    finally:
        TALLY.seconds[EVENTS] += time.perf_counter() - started
