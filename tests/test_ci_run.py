"""`.ci/run`: `make test` in a fresh clone of HEAD alone in a temporary folder, its failure
status passed on, the folder removed either way.

Each test runs the real script against a small repository whose Makefile reports where
`make test` ran and what lay beside it, so the project's own (slow) suite is not re-entered.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

_MAKEFILE = """\
test:
\tpwd > "$(REPORT)/pwd"
\tls -A .. > "$(REPORT)/beside"
\tls -A > "$(REPORT)/files"
\texit $(STATUS)
"""


@pytest.fixture
def project(repo_root: Path, tmp_path: Path) -> Path:
    """A committed repository with `.ci/run`, that Makefile, and one file left uncommitted."""
    root = tmp_path / "checkout"
    (root / ".ci").mkdir(parents=True)
    shutil.copy2(repo_root / ".ci" / "run", root / ".ci" / "run")
    (root / "Makefile").write_text(_MAKEFILE)
    (root / "committed.txt").write_text("in git\n")
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "project"], cwd=root, check=True)
    (root / "uncommitted.txt").write_text("only in this checkout\n")
    (tmp_path / "beside-the-checkout").mkdir()
    return root


def _ci_run(project: Path, tmp_path: Path, status: int) -> subprocess.CompletedProcess[str]:
    for folder in ("report", "tmp"):
        (tmp_path / folder).mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "REPORT": str(tmp_path / "report"),
           "STATUS": str(status)}
    return subprocess.run([str(project / ".ci" / "run")], env=env, capture_output=True,
                          text=True, timeout=120)


def test_ci_run_make_test_in_fresh_clone_alone_then_removed(project: Path, tmp_path: Path) -> None:
    result = _ci_run(project, tmp_path, status=0)

    assert result.returncode == 0, result.stdout + result.stderr
    ran_in = Path((tmp_path / "report" / "pwd").read_text().strip())
    assert ran_in != project and ran_in.is_relative_to(tmp_path / "tmp")
    assert (tmp_path / "report" / "beside").read_text().split() == ["repo"]
    files = (tmp_path / "report" / "files").read_text().split()
    assert "committed.txt" in files and "uncommitted.txt" not in files
    assert list((tmp_path / "tmp").iterdir()) == []


def test_ci_run_make_test_fails_status_passed_on_clone_removed(
    project: Path, tmp_path: Path
) -> None:
    result = _ci_run(project, tmp_path, status=3)

    # make reports a failed recipe as 2, whatever status the recipe had.
    assert result.returncode == 2, result.stdout + result.stderr
    assert (tmp_path / "report" / "pwd").exists()
    assert "passed" not in result.stdout
    assert list((tmp_path / "tmp").iterdir()) == []
