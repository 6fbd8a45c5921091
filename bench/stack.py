"""Starts the emulator and Azurite for a benchmark and points the function app at them."""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devhost.services import start_azurite, start_emulator
from shared.services import Services, use_services

logger = logging.getLogger(__name__)


@contextmanager
def local_stack() -> Iterator[dict[str, str]]:
    """Emulator + Azurite on free loopback ports; the process environment set as in Azure."""
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        emulator = start_emulator(workdir=Path(workdir) / "emulator")
        azurite = start_azurite(workdir=Path(workdir) / "azurite")
        settings = {
            "ACS_ENDPOINT": emulator.settings["ACS_ENDPOINT"],
            "AUTH_ISSUER": emulator.settings["AUTH_ISSUER"],
            "AUTH_AUDIENCE": emulator.settings["AUTH_AUDIENCE"],
            "SMS_FROM": emulator.settings["SMS_FROM"],
            "IDENTITY_ENDPOINT": emulator.settings["IDENTITY_ENDPOINT"],
            "IDENTITY_HEADER": emulator.settings["IDENTITY_HEADER"],
            "REQUESTS_CA_BUNDLE": emulator.settings["REQUESTS_CA_BUNDLE"],
            "IDENTITY_TABLE_ENDPOINT": azurite.settings["AZURITE_CONNECTION_STRING"],
            "AzureWebJobsStorage": azurite.settings["AZURITE_CONNECTION_STRING"],
        }
        saved = dict(os.environ)
        os.environ.update(settings)
        use_services(None)
        try:
            yield {**settings, "EMULATOR_ADMIN": emulator.settings["EMULATOR_ADMIN"]}
        finally:
            use_services(None)
            os.environ.clear()
            os.environ.update(saved)
            azurite.stop()
            emulator.stop()


def on_services(services: Services, call: Callable[[], None]) -> Callable[[], None]:
    """`call` with `services` installed as the process's, so candidates sharing a process can
    each run on their own configuration, turn by turn."""
    def run() -> None:
        use_services(services)
        call()

    return run


def timed(call: Callable[[], object]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def median_of_rounds(samples: list[list[float]]) -> float:
    """The median over rounds of each round's median: robust on a shared, noisy machine."""
    return statistics.median(statistics.median(round_) for round_ in samples)


def interleaved(candidates: dict[str, Callable[[], object]], *, rounds: int, per_round: int
                ) -> dict[str, float]:
    """Median seconds per call of each candidate: in every round each one runs `per_round`
    times, taking turns call by call, so all of them see the same machine load; the result
    is the median over rounds of each round's median."""
    samples: dict[str, list[list[float]]] = {name: [] for name in candidates}
    for _ in range(rounds):
        round_: dict[str, list[float]] = {name: [] for name in candidates}
        for _ in range(per_round):
            for name, call in candidates.items():
                round_[name].append(timed(call))
        for name, values in round_.items():
            samples[name].append(values)
    return {name: median_of_rounds(values) for name, values in samples.items()}


@dataclass(frozen=True)
class Figure:
    """One printed figure: its value, and the target it is held to (if any)."""

    name: str
    value: float
    unit: str
    relation: str | None
    target: float | None
    note: str | None

    @property
    def met(self) -> bool | None:
        if self.relation is None or self.target is None:
            return None
        return self.value <= self.target if self.relation == "<=" else self.value >= self.target


def report(title: str, figures: list[Figure]) -> None:
    print(title)
    for figure in figures:
        target = "" if figure.met is None else \
            f"  target {figure.relation} {figure.target:g}{figure.unit}  " \
            f"{'met' if figure.met else 'MISSED'}"
        value = f"{figure.value:.2f}" if isinstance(figure.value, float) else str(figure.value)
        print(f"  {figure.name:<62} {value:>8}{figure.unit}{target}")
        if figure.note:
            print(f"  {'':<62}   ({figure.note})")
