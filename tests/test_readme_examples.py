"""The README's client code is the example code the end-to-end tests run, word for word."""

from __future__ import annotations

from pathlib import Path

import pytest

REGIONS = [
    ("examples/python/chat_app.py", "#", "service_tokens"),
    ("examples/python/chat_app.py", "#", "start_chat"),
    ("examples/python/chat_app.py", "#", "sign_out"),
    ("examples/js/service-tokens.mjs", "//", "service_tokens"),
    ("examples/js/service-tokens.mjs", "//", "sign_out"),
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


@pytest.mark.parametrize("path", ["examples/node/chat.mjs", "examples/web/src/main.js"])
def test_readme_example_js_client_imports_shared_module(repo_root: Path, path: str) -> None:
    source = (repo_root / path).read_text()

    assert "/js/service-tokens.mjs\";" in source
    assert "function serviceTokens" not in source
    assert "function signOutEverywhere" not in source
    assert "function deleteMyIdentity" not in source
