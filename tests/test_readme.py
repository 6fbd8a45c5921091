"""What the README tells a newcomer to run: both local tokens, and the ACS role to grant."""

from __future__ import annotations

import re
from pathlib import Path


def _shell_blocks(repo_root: Path) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", (repo_root / "README.md").read_text(), re.DOTALL)


def test_readme_local_quickstart_mints_user_and_sender_tokens(repo_root: Path) -> None:
    quickstart = next(block for block in _shell_blocks(repo_root) if "mint()" in block)

    assert "USER_TOKEN=$(mint '{\"sub\":" in quickstart
    assert "SENDER_TOKEN=$(mint '{\"sub\": \"orders-backend\", \"roles\": [\"Sms.Send\"]}')" in (
        quickstart)
    assert re.search(r'/api/sms" -H "Authorization: Bearer \$SENDER_TOKEN"', quickstart)
    assert re.search(r'/api/token" -H "Authorization: Bearer \$USER_TOKEN"', quickstart)
    # The interpreter is the project's own: `python` may not exist, `python3` may be too old.
    assert re.search(r"(?:^|[\s|(])python3?\s", quickstart) is None
    assert "PY=.venv/bin/python" in quickstart


def test_readme_acs_role_builtin_at_resource_scope_without_custom_role(repo_root: Path) -> None:
    text = (repo_root / "README.md").read_text()
    grant = next(block for block in _shell_blocks(repo_root)
                 if "az role assignment create" in block)

    assert "--role Contributor" in grant
    assert '--scope "$ACS_ID"' in grant
    assert "az communication show" in grant
    assert "custom role" not in text.replace("not to honour custom roles", "")
    assert "quickstarts/identity/service-principal" in text
