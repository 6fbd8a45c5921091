"""RecentIdentities on its own: lifetime, bound, forgetting, and what a full one holds."""

from __future__ import annotations

import tracemalloc
import uuid
from collections.abc import Callable

from shared.auth.caller import Caller
from shared.identity.recent import MAX_ENTRIES, RecentIdentities

ISSUER = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"


def _caller(n: int) -> Caller:
    return Caller(issuer=ISSUER, subject=f"oid:{uuid.UUID(int=n)}", roles=frozenset())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_entry_served_until_its_lifetime_ends_then_dropped() -> None:
    clock = Clock()
    recent = RecentIdentities(300, clock=clock)
    recent.put(_caller(1), "8:acs:one")

    clock.now += 299.9
    assert recent.get(_caller(1)) == "8:acs:one"
    clock.now += 0.1
    assert recent.get(_caller(1)) is None
    assert len(recent) == 0


def test_put_again_renews_the_lifetime_and_the_identity() -> None:
    clock = Clock()
    recent = RecentIdentities(10, clock=clock)
    recent.put(_caller(1), "8:acs:one")
    clock.now += 8
    recent.put(_caller(1), "8:acs:two")
    clock.now += 8

    assert recent.get(_caller(1)) == "8:acs:two"


def test_callers_differ_by_issuer_and_by_subject() -> None:
    recent = RecentIdentities(60)
    alice = Caller(issuer="https://a.example", subject="sub:alice", roles=frozenset())
    recent.put(alice, "8:acs:alice")

    assert recent.get(Caller("https://b.example", "sub:alice", frozenset())) is None
    assert recent.get(Caller("https://a.example", "oid:alice", frozenset())) is None
    assert recent.get(Caller("https://a.example", "sub:alice", frozenset({"r"}))) == "8:acs:alice"


def test_zero_lifetime_keeps_nothing() -> None:
    recent = RecentIdentities(0)
    recent.put(_caller(1), "8:acs:one")

    assert recent.get(_caller(1)) is None
    assert len(recent) == 0


def test_forget_drops_one_caller() -> None:
    recent = RecentIdentities(60)
    recent.put(_caller(1), "8:acs:one")
    recent.put(_caller(2), "8:acs:two")
    recent.forget(_caller(1))
    recent.forget(_caller(3))  # never kept: nothing to do

    assert recent.get(_caller(1)) is None
    assert recent.get(_caller(2)) == "8:acs:two"


def test_bounded_oldest_stored_dropped_first() -> None:
    recent = RecentIdentities(60, max_entries=3)
    for n in (1, 2, 3):
        recent.put(_caller(n), f"8:acs:{n}")
    recent.get(_caller(1))  # a use does not make an entry live longer
    recent.put(_caller(4), "8:acs:4")

    assert len(recent) == 3
    assert recent.get(_caller(1)) is None
    assert [recent.get(_caller(n)) for n in (2, 3, 4)] == ["8:acs:2", "8:acs:3", "8:acs:4"]


def test_expired_entries_of_other_callers_dropped_at_the_next_use() -> None:
    clock = Clock()
    recent = RecentIdentities(10, clock=clock)
    for n in range(5):
        recent.put(_caller(n), f"8:acs:{n}")
        clock.now += 1
    clock.now += 6  # entries 0..1 are past their lifetime, 2..4 are not

    assert recent.get(_caller(99)) is None
    assert len(recent) == 3
    recent.put(_caller(100), "8:acs:100")
    clock.now += 10
    recent.forget(_caller(99))  # forgetting sweeps nothing: it only removes
    assert len(recent) == 4
    assert recent.get(_caller(100)) is None
    assert len(recent) == 0


def _full(subject: Callable[[int], str]) -> tuple[RecentIdentities, int]:
    callers = [Caller(issuer=ISSUER, subject=subject(n), roles=frozenset())
               for n in range(MAX_ENTRIES + 500)]
    resource = uuid.UUID(int=7)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        recent = RecentIdentities(300)
        for n, caller in enumerate(callers):
            # Each identity id a string of its own, as each ACS or Table answer gives one.
            recent.put(caller, f"8:acs:{resource}_{uuid.UUID(int=n)}")
        held = sum(stat.size_diff for stat in
                   tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    return recent, held


def test_full_at_the_default_bound_holds_under_four_megabytes_whatever_the_subjects() -> None:
    short, short_held = _full(lambda n: f"oid:{uuid.UUID(int=n)}")
    # The longest subject the service accepts, in characters that take 4 bytes each.
    long, long_held = _full(lambda n: f"sub:{n:08d}" + "\U0001f600" * 248)

    assert len(short) == len(long) == MAX_ENTRIES
    assert short_held < 4 * 1024 * 1024
    assert long_held < 4 * 1024 * 1024  # callers are kept as hashes: no subject is held
