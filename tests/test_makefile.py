"""The Makefile's checks a newcomer meets first: Node.js 20+ is required and says so."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest


def _make(repo_root: Path, target: str, path: str) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    assert make, "make runs this project's two commands"
    return subprocess.run([make, "-s", "-C", str(repo_root), target], capture_output=True,
                          text=True, env={**os.environ, "PATH": path}, timeout=60)


def _fake_node(tmp_path: Path, version: str) -> Path:
    """A `node` that only reports a version; the check must not get further than asking."""
    folder = tmp_path / "bin"
    folder.mkdir()
    node = folder / "node"
    node.write_text(f"#!/bin/sh\necho {version}\n")
    node.chmod(node.stat().st_mode | stat.S_IEXEC)
    return folder


@pytest.mark.parametrize("target", ["check-node", "install"])
def test_makefile_node_older_than_20_clear_error(
    repo_root: Path, tmp_path: Path, target: str
) -> None:
    fake = _fake_node(tmp_path, "v18.19.0")

    result = _make(repo_root, target, f"{fake}{os.pathsep}{os.environ['PATH']}")

    assert result.returncode != 0
    assert "Node.js 20+ is required (found v18.19.0)" in result.stderr


def test_makefile_node_missing_clear_error(repo_root: Path, tmp_path: Path) -> None:
    result = _make(repo_root, "check-node", str(tmp_path / "empty"))

    assert result.returncode != 0
    assert "Node.js 20+ is required: node is not on PATH" in result.stderr


def test_makefile_node_20_or_later_passes(repo_root: Path, tmp_path: Path) -> None:
    fake = _fake_node(tmp_path, "v20.0.0")

    assert _make(repo_root, "check-node", f"{fake}{os.pathsep}{os.environ['PATH']}"
                 ).returncode == 0
    assert _make(repo_root, "check-node", os.environ["PATH"]).returncode == 0
