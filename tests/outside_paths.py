"""Finds references in the repository's files to paths outside the repository: a fresh
clone has nothing beside it, so such a file works only where it was written."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Absolute paths that belong to one machine: home folders, build mounts, Windows drives.
_MACHINE_PATH = re.compile(
    r"(?<![\w.:/-])(?:/(?:work|root|mnt)/[\w.-]+|/(?:home|Users)/[\w.-]+/|[A-Za-z]:\\[\w.-]+)"
)
# A run of up-level segments (dot, dot, slash), with the path after it; resolved against the
# file or the root. (This file and its test spell such paths so they pass their own scan.)
_CLIMB = re.compile(r"(?<![\w./-])((?:\.\./)+)([\w./-]*)")
# `Path(__file__).resolve().parent.parent` or `.parents[2]`: climbs from the file itself.
_FILE_PARENTS = re.compile(
    r"Path\(__file__\)(?:\.resolve\(\))?(?:(?P<chain>(?:\.parent\b)+)|\.parents\[(?P<index>\d+)\])"
)
# Taking the parent of a name that means the repository root (any `...root...` name).
_ABOVE_ROOT = re.compile(r"\b\w*root\w*\.parents?\b", re.IGNORECASE)

# Where a relative path in the file is resolved from: documents, data files, JavaScript modules,
# web pages and Bicep modules are read relative to themselves (links, `$ref`s, `import`s);
# Python and build files run from the repository root.
_RELATIVE_TO_FILE = {".md", ".json", ".yaml", ".yml", ".js", ".mjs", ".html", ".bicep"}
# Upstream files keep upstream's layout (their `$ref`s are checked by their own test), and
# the notes beside them quote upstream's paths.
_VENDORED = PurePosixPath("specs")


@dataclass(frozen=True)
class Reference:
    """One reference to a path outside the repository."""

    file: str
    line: int
    text: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.why}: {self.text.strip()}"


def tracked_files(root: Path) -> list[str]:
    """Every file git tracks under `root`, as repository-relative POSIX paths."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True
    ).stdout.decode()
    return [name for name in listed.split("\0") if name]


def _climb_problem(root: Path, base: PurePosixPath, climb: str, rest: str, to_file: bool
                   ) -> str | None:
    """Why `base/climb/rest` is outside the repository (base is repository-relative), if it is.

    A document's relative path that stays inside must also name something that exists here:
    one climbing from a sub-folder to a sibling of the repository's own folders lands inside,
    but on a folder only its author had.
    """
    levels = len(climb) // 3  # each segment is three characters
    if levels + (rest.split("/")[0] == "..") > len(base.parts):
        return f"leaves the repository from {base or 'the root'}"
    target = PurePosixPath(*base.parts[: len(base.parts) - levels], rest.rstrip("./"))
    if to_file and rest and not (root / target).exists():
        return f"names {target}, which is not in the repository"
    return None


def _line_references(root: Path, name: str, number: int, line: str) -> Iterator[Reference]:
    path = PurePosixPath(name)
    for match in _MACHINE_PATH.finditer(line):
        yield Reference(name, number, line, f"absolute machine path {match.group(0)!r}")
    if path.parts[0] != _VENDORED.name:
        to_file = path.suffix in _RELATIVE_TO_FILE
        base = path.parent if to_file else PurePosixPath()
        for match in _CLIMB.finditer(line):
            problem = _climb_problem(root, base, match.group(1), match.group(2), to_file)
            if problem:
                yield Reference(name, number, line, f"relative path {match.group(0)!r} {problem}")
    if path.suffix == ".py":
        for match in _FILE_PARENTS.finditer(line):
            levels = (len(match.group("chain").split(".parent")) - 1 if match.group("chain")
                      else int(match.group("index")) + 1)
            if levels > len(path.parts):
                yield Reference(name, number, line, f"climbs {levels} levels from a file "
                                f"{len(path.parts) - 1} folder(s) deep")
        for match in _ABOVE_ROOT.finditer(line):
            yield Reference(name, number, line, f"goes above the root: {match.group(0)!r}")


def find_outside_references(root: Path, files: Iterable[str]) -> list[Reference]:
    """Every reference to a path outside `root` in the given text files (binary ones skipped)."""
    found: list[Reference] = []
    for name in files:
        try:
            text = (root / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            found.extend(_line_references(root, name, number, line))
    return found
