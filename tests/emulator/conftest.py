"""Fixtures for the emulator conformance tests: a raw ACS client and the specs' schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulator.acs_http import AcsHttp
from tests.emulator.spec_schemas import SpecSchemas
from tests.support import EmulatorClient


@pytest.fixture
def acs(emulator: EmulatorClient) -> AcsHttp:
    """A raw ACS client against a freshly reset emulator."""
    return AcsHttp(emulator.settings)


@pytest.fixture(scope="session")
def specs_dir(vendored_specs: Path) -> Path:
    return vendored_specs / "acs-rest-specs"


@pytest.fixture(scope="session")
def schemas(specs_dir: Path) -> SpecSchemas:
    return SpecSchemas(specs_dir)
