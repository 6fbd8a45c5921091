"""Starts the emulator and Azurite for a benchmark and points the function app at them."""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from devhost.services import start_azurite, start_emulator
from shared.services import use_services

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


def timed(call: Callable[[], object]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def median_of_rounds(samples: list[list[float]]) -> float:
    """The median over rounds of each round's median: robust on a shared, noisy machine."""
    return statistics.median(statistics.median(round_) for round_ in samples)
