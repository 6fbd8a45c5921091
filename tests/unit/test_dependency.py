"""Status maps and the fail-fast cooldown, with an injected clock (no sleeping)."""

from __future__ import annotations

import logging

import pytest

from shared.clients.dependency import (
    SERVER_ERRORS,
    THROTTLED,
    Cooldown,
    Mapped,
    StatusMap,
    parse_retry_after,
)
from shared.errors import Forbidden, UpstreamError, UpstreamUnavailable

MAP = StatusMap("Thing", [
    (THROTTLED, Mapped(UpstreamUnavailable, "busy")),
    (SERVER_ERRORS, Mapped(UpstreamUnavailable, "down")),
    ((403,), Mapped(UpstreamError, "refused", hint="grant the role")),
])


@pytest.mark.parametrize(("status", "kind", "detail"), [
    (429, UpstreamUnavailable, "busy"), (500, UpstreamUnavailable, "down"),
    (599, UpstreamUnavailable, "down"), (403, UpstreamError, "refused"),
])
def test_status_map_mapped_status_typed_error(status: int, kind: type, detail: str) -> None:
    error = MAP.error_for(status, retry_after=7)

    assert type(error) is kind
    assert error is not None and error.detail == detail
    assert error.retry_after == (7 if kind is UpstreamUnavailable else None)


@pytest.mark.parametrize("status", [200, 400, 404, 409, 412, 600])
def test_status_map_unmapped_status_none(status: int) -> None:
    assert MAP.error_for(status) is None


def test_status_map_hint_logged_not_in_detail(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)

    error = MAP.error_for(403)

    assert error is not None and "grant" not in error.detail
    assert any("grant the role" in r.getMessage() for r in caplog.records)


def test_status_map_first_rule_wins() -> None:
    first = StatusMap("x", [((403,), Mapped(Forbidden, "a")), ((403,), Mapped(UpstreamError, "b"))])

    assert isinstance(first.error_for(403), Forbidden)


@pytest.mark.parametrize(("raw", "seconds"), [
    ("7", 7), ("2.5", 2), ("0", 1), ("-3", 1), ("999999", 3600), (None, 5), ("", 5),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 5), ("nan", 5),
])
def test_parse_retry_after_clamped_or_default(raw: str | None, seconds: int) -> None:
    assert parse_retry_after(raw) == seconds


def test_cooldown_tripped_answers_503_until_it_ends() -> None:
    now = [100.0]
    cooldown = Cooldown("down", seconds=5, clock=lambda: now[0])
    cooldown.check()  # not tripped: nothing happens

    error = cooldown.trip("first failure")

    assert error.detail == "first failure" and error.retry_after == 5
    with pytest.raises(UpstreamUnavailable) as raised:
        cooldown.check()
    assert raised.value.detail == "down"
    now[0] += 4.9
    with pytest.raises(UpstreamUnavailable):
        cooldown.check()
    now[0] += 0.2
    cooldown.check()
