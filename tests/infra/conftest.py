"""The templates under infra/, parsed once, and the checkov command that `make install` sets up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.infra.templates import Template, parse_dir


@pytest.fixture(scope="session")
def infra_dir(repo_root: Path) -> Path:
    return repo_root / "infra"


@pytest.fixture(scope="session")
def templates(infra_dir: Path) -> dict[str, Template]:
    return parse_dir(infra_dir)


@pytest.fixture(scope="session")
def main(templates: dict[str, Template]) -> Template:
    return templates["main.bicep"]


@pytest.fixture(scope="session")
def checkov(repo_root: Path) -> Path:
    """checkov in its own environment (requirements-checkov.txt); CHECKOV may point elsewhere."""
    path = Path(os.environ.get("CHECKOV", repo_root / ".venv-checkov" / "bin" / "checkov"))
    assert path.is_file(), f"checkov not found at {path}: run `make install`"
    return path
