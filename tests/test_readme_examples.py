"""The README's client code is the example code the end-to-end tests run, word for word."""

from __future__ import annotations

from pathlib import Path

import pytest

REGIONS = [
    ("examples/python/chat_app.py", "#", "service_tokens"),
    ("examples/python/chat_app.py", "#", "start_chat"),
    ("examples/python/chat_app.py", "#", "sign_out"),
    ("examples/node/chat.mjs", "//", "service_tokens"),
    ("examples/node/chat.mjs", "//", "sign_out"),
    ("examples/web/src/main.js", "//", "service_tokens"),
]


def _region(path: Path, comment: str, name: str) -> str:
    text = path.read_text()
    start, end = f"{comment} [START {name}]\n", f"{comment} [END {name}]"
    assert start in text and end in text, f"{path}: no {name} region"
    return text[text.index(start) + len(start):text.index(end)].rstrip("\n")


@pytest.mark.parametrize(("path", "comment", "name"), REGIONS)
def test_readme_example_region_appears_verbatim(
    repo_root: Path, path: str, comment: str, name: str
) -> None:
    readme = (repo_root / "README.md").read_text()

    assert f"\n{_region(repo_root / path, comment, name)}\n```" in readme


@pytest.mark.parametrize("name", ["service_tokens", "sign_out"])
def test_readme_example_region_same_in_node_and_web(repo_root: Path, name: str) -> None:
    node = _region(repo_root / "examples/node/chat.mjs", "//", name)
    web = _region(repo_root / "examples/web/src/main.js", "//", name)

    assert node == web
