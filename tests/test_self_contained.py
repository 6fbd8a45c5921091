"""A fresh clone is the whole project: nothing points outside it, and the vendored specs are
upstream's files, each listed with its provenance."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.outside_paths import find_outside_references, tracked_files

# One row of the table in specs/README.md: file, repository, upstream path, commit, licence,
# bytes, sha256.
_ROW = re.compile(
    r"^\| `(?P<file>[^`]+)` \| `(?P<repo>[\w.-]+/[\w.-]+)` \| `(?P<upstream>[^`]+)` "
    r"\| `(?P<commit>[0-9a-f]{40})` \| (?P<licence>MIT|Apache-2\.0) \| (?P<bytes>\d+) "
    r"\| `(?P<sha256>[0-9a-f]{64})` \|$",
    re.MULTILINE,
)
# The project's own files under specs/: notes on each tree and the licence texts.
_NOT_UPSTREAM = re.compile(r"^(?:README\.md|[\w-]+/README\.md|LICENSES/.+)$")
_LICENCE_FILES = {"MIT": "LICENSES/MIT-azure-rest-api-specs.txt",
                  "Apache-2.0": "LICENSES/Apache-2.0-schemastore.txt"}


def _provenance(specs: Path) -> dict[str, dict[str, str]]:
    return {row["file"]: row.groupdict() for row in _ROW.finditer(
        (specs / "README.md").read_text())}


def _provenance_problems(specs: Path) -> list[str]:
    """Vendored files missing from the table, listed but absent, or changed since copied."""
    listed = _provenance(specs)
    on_disk = {path.relative_to(specs).as_posix() for path in specs.rglob("*") if path.is_file()}
    upstream = {name for name in on_disk if not _NOT_UPSTREAM.match(name)}
    problems = [f"{name}: not listed in specs/README.md"
                for name in sorted(upstream - listed.keys())]
    problems += [f"{name}: listed but missing" for name in sorted(listed.keys() - on_disk)]
    for name in sorted(upstream & listed.keys()):
        data = (specs / name).read_bytes()
        if (len(data), hashlib.sha256(data).hexdigest()) != (
                int(listed[name]["bytes"]), listed[name]["sha256"]):
            problems.append(f"{name}: size or SHA-256 differs from specs/README.md")
    return problems


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_repository_tracked_files_reference_nothing_outside(repo_root: Path) -> None:
    files = tracked_files(repo_root)

    found = find_outside_references(repo_root, files)

    assert len(files) > 100  # the scan saw the repository, not an empty listing
    assert [str(reference) for reference in found] == []


def test_outside_reference_scan_finds_each_planted_kind(tmp_path: Path) -> None:
    # Written in pieces so this file does not itself hold what the scan looks for.
    up, shared, dot = "..", "shared", "."
    planted = {
        "tests/conftest.py": f'S = Path(__file__){dot}resolve(){".parent" * 3} / "{shared}"\n',
        "tests/deep/test_x.py": f"ROOT = Path(__file__){dot}parents[3]\n",
        "tests/test_y.py": f'SPECS = repo_root{dot}parent / "{shared}"\n',
        "bench/run.py": f'open("{up}/{shared}/functions-schemas/host.json")\n',
        "emulator/README.md": f"definitions in `{up}/{shared}/acs-rest-specs/`\n",
        "docs/guide.md": f"see [design]({up}/{up}/DESIGN.md)\n",
        "Makefile": f"SPECS := {up}/{shared}\n",
        "devhost/x.py": 'CA = "/' + 'root/.local/ca.pem"\n',
        ".ci/run": 'cd "/' + 'work/project"\n',
        "README.md": "Cached under `C:" + "\\Users\\dev\\specs`.\n",
    }
    for name, text in planted.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "shared").mkdir()
    (tmp_path / "tests" / "fine.py").write_text(
        'ROOT = Path(__file__).resolve().parent.parent\nURL = "/api/../token"\n')
    (tmp_path / "emulator" / "fine.md").write_text(f"see [the specs]({up}/specs/README.md)\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "README.md").write_text("# here\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")

    found = find_outside_references(tmp_path, tracked_files(tmp_path))

    assert sorted({reference.file for reference in found}) == sorted(planted)


def test_specs_every_vendored_file_listed_unchanged_with_provenance(repo_root: Path) -> None:
    specs = repo_root / "specs"
    listed = _provenance(specs)

    assert _provenance_problems(specs) == []
    assert len(listed) >= 40
    for row in listed.values():
        assert row["repo"] in {"Azure/azure-rest-api-specs", "SchemaStore/schemastore"}
        assert (specs / _LICENCE_FILES[row["licence"]]).is_file()
    assert "MIT License" in (specs / _LICENCE_FILES["MIT"]).read_text()
    assert "Apache License" in (specs / _LICENCE_FILES["Apache-2.0"]).read_text()
    assert any(name.startswith("acs-rest-specs/Chat/stable/2024-03-07/examples/")
               for name in listed)


def test_specs_provenance_check_catches_edit_and_unlisted_file(
    repo_root: Path, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(repo_root / "specs", specs)
    edited = specs / "functions-schemas" / "function.json"
    edited.write_bytes(edited.read_bytes().replace(b"{", b"{ ", 1))
    (specs / "acs-rest-specs" / "extra.json").write_text("{}")

    problems = _provenance_problems(specs)

    assert problems == [
        "acs-rest-specs/extra.json: not listed in specs/README.md",
        "functions-schemas/function.json: size or SHA-256 differs from specs/README.md",
    ]


def _file_refs(document: Any) -> list[str]:
    if isinstance(document, dict):
        found = [document["$ref"].split("#")[0]] if isinstance(document.get("$ref"), str) else []
        return found + [ref for value in document.values() for ref in _file_refs(value)]
    if isinstance(document, list):
        return [ref for value in document for ref in _file_refs(value)]
    return []


@pytest.mark.parametrize("tree", ["acs-rest-specs"])
def test_specs_relative_refs_resolve_inside_tree(repo_root: Path, tree: str) -> None:
    root = (repo_root / "specs" / tree).resolve()
    checked = 0
    for path in sorted(root.rglob("*.json")):
        document = json.loads(path.read_text())
        for ref in filter(None, _file_refs(document)):  # `$ref`s and `x-ms-examples` files
            target = (path.parent / ref).resolve()
            assert target.is_relative_to(root) and target.is_file(), f"{path}: {ref}"
            checked += 1
    assert checked >= 30  # every spec refers to its examples and to Common

