"""RecentIdentities on its own: lifetime, bound, forgetting, and what a full one holds."""

from __future__ import annotations

import threading
import tracemalloc
import uuid

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


def test_bounded_least_recently_used_dropped_first() -> None:
    recent = RecentIdentities(60, max_entries=3)
    for n in (1, 2, 3):
        recent.put(_caller(n), f"8:acs:{n}")
    recent.get(_caller(1))  # used: now the most recent
    recent.put(_caller(4), "8:acs:4")

    assert len(recent) == 3
    assert recent.get(_caller(2)) is None
    assert [recent.get(_caller(n)) for n in (1, 3, 4)] == ["8:acs:1", "8:acs:3", "8:acs:4"]


def test_full_at_the_default_bound_holds_under_five_megabytes() -> None:
    callers = [_caller(n) for n in range(MAX_ENTRIES + 500)]
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

    assert len(recent) == MAX_ENTRIES
    assert held < 5 * 1024 * 1024


def test_threads_putting_and_reading_at_once_stay_consistent() -> None:
    recent = RecentIdentities(60, max_entries=50)
    errors: list[str] = []

    def work(offset: int) -> None:
        for n in range(2000):
            caller = _caller(offset + n % 80)
            recent.put(caller, f"8:acs:{offset + n % 80}")
            got = recent.get(caller)
            if got not in (None, f"8:acs:{offset + n % 80}"):
                errors.append(got)

    threads = [threading.Thread(target=work, args=(i * 1000,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(recent) == 50
