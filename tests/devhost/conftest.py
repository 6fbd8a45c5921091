"""Fixtures for the local host's tests: a tmp function app and a host that runs it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.host import LocalHost
from tests.devhost.apps import AppFolder


@pytest.fixture
def app(tmp_path: Path) -> AppFolder:
    return AppFolder(tmp_path / "app")


@pytest.fixture
def start_host(
    azurite: dict[str, str],
) -> Iterator[Callable[..., LocalHost]]:
    """Start a LocalHost for an app folder on a free port; stopped after the test."""
    started: list[LocalHost] = []

    def start(
        app: AppFolder, settings: dict[str, str] | None = None, **options: Any
    ) -> LocalHost:
        host = LocalHost(
            app.root,
            {"AzureWebJobsStorage": azurite["AZURITE_CONNECTION_STRING"], **(settings or {})},
            **options,
        )
        host.start()
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()
