"""Fixtures for the emulator conformance tests: a raw ACS client and the specs' schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.client import EmulatorClient
from tests.emulator.acs_http import AcsHttp
from tests.emulator.chat_http import ChatHttp
from tests.emulator.spec_schemas import SpecSchemas


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


@pytest.fixture
def chat(acs: AcsHttp) -> ChatHttp:
    """A raw Chat client against a freshly reset emulator."""
    return ChatHttp(acs)


@pytest.fixture(scope="session")
def chat_specs_dir(repo_root: Path) -> Path:
    """The specs vendored in the repository (Chat and the Common definitions it uses)."""
    return repo_root / "specs" / "acs-rest-specs"


@pytest.fixture(scope="session")
def chat_schemas(chat_specs_dir: Path) -> SpecSchemas:
    return SpecSchemas(chat_specs_dir)
