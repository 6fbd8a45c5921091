"""The emulator's repeatability memory: ids are forgotten once first sent more than the window
ago, whatever order they arrived in, and pruning looks only at the expired ones."""

from __future__ import annotations

from emulator.keys import SigningKey
from emulator.sms import REPEATABILITY_WINDOW
from emulator.state import RepeatRecord, State

NOW = 1_000_000.0


def _state() -> State:
    return State(oidc_keys=[SigningKey.generate()], system_client_id="system")


def _record(first_sent: float) -> RepeatRecord:
    return RepeatRecord("content", first_sent, {"to": "+14255550123"})


def test_prune_forgets_exactly_the_expired_ids_in_any_arrival_order() -> None:
    state = _state()
    # Arrival order is not first-sent order: a retry may carry an older first-sent time.
    ages = {"a": 10.0, "b": REPEATABILITY_WINDOW + 1, "c": 0.0,
            "d": REPEATABILITY_WINDOW + 50, "e": REPEATABILITY_WINDOW, "f": 299.0}
    for request_id, age in ages.items():
        state.remember_repeat(request_id, _record(NOW - age))
    state.prune_repeatability(NOW, REPEATABILITY_WINDOW)
    assert sorted(state.repeatability) == ["a", "c", "e", "f"]
    state.prune_repeatability(NOW + 11, REPEATABILITY_WINDOW)
    assert sorted(state.repeatability) == ["a", "c"]


def test_an_id_remembered_again_after_expiry_is_kept_by_its_new_time() -> None:
    state = _state()
    state.remember_repeat("x", _record(NOW - REPEATABILITY_WINDOW - 5))
    state.prune_repeatability(NOW, REPEATABILITY_WINDOW)
    assert "x" not in state.repeatability
    state.remember_repeat("x", _record(NOW))
    state.prune_repeatability(NOW + 1, REPEATABILITY_WINDOW)
    assert state.repeatability["x"].first_sent == NOW


def test_reset_forgets_the_order_too() -> None:
    state = _state()
    for index in range(5):
        state.remember_repeat(f"id{index}", _record(NOW - REPEATABILITY_WINDOW - 1))
    state.reset()
    state.remember_repeat("kept", _record(NOW))
    state.prune_repeatability(NOW, REPEATABILITY_WINDOW)
    assert list(state.repeatability) == ["kept"]
    assert len(state._repeat_order) == 1


def test_pruning_looks_only_at_expired_ids() -> None:
    state = _state()
    for index in range(50_000):
        state.remember_repeat(f"live{index}", _record(NOW - index / 1000))
    state.remember_repeat("old", _record(NOW - REPEATABILITY_WINDOW - 1))
    compared = 0

    class Counting(float):
        def __sub__(self, other: object) -> float:
            nonlocal compared
            compared += 1
            return float(self) - float(other)  # type: ignore[arg-type]

    state.prune_repeatability(Counting(NOW), REPEATABILITY_WINDOW)
    assert "old" not in state.repeatability
    assert len(state.repeatability) == 50_000
    # The expired id and the first live one: not one comparison per remembered id.
    assert compared == 2
