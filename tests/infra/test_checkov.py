"""checkov's Bicep checks on infra/: none fails, each skip says why, a bad template fails."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

# `--skip-download`: the checks ship with checkov; never call its cloud platform.
_ARGS = ("--framework", "bicep", "--skip-download", "-o", "json")
_SKIP = re.compile(r"//\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")

# Storage reachable with shared keys over plain HTTP and TLS 1.0: three classic failures.
_INSECURE_STORAGE = """
param location string = resourceGroup().location
resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stinsecure'
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: true
    supportsHttpsTrafficOnly: false
    minimumTlsVersion: 'TLS1_0'
    allowBlobPublicAccess: true
  }
}
"""


def run_checkov(checkov: Path, directory: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(checkov), "-d", str(directory), *_ARGS],
        capture_output=True, text=True, timeout=600, check=False,
    )
    # Exit status 1 means "some check failed"; anything else without JSON is a broken run.
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads(done.stdout)
    result: dict[str, Any] = report[0] if isinstance(report, list) else report
    return result


@pytest.fixture(scope="module")
def infra_report(checkov: Path, infra_dir: Path) -> dict[str, Any]:
    return run_checkov(checkov, infra_dir)


def test_checkov_infra_no_failed_check(infra_report: dict[str, Any]) -> None:
    summary = infra_report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in infra_report["results"]["failed_checks"]]

    assert failed == []
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0


def test_checkov_infra_every_skip_justified(infra_report: dict[str, Any], infra_dir: Path) -> None:
    skips = [m for p in infra_dir.rglob("*.bicep") for m in _SKIP.finditer(p.read_text())]
    skipped = {c["check_id"] for c in infra_report["results"]["skipped_checks"]}

    assert all(reason and len(reason.strip()) >= 20 for _, reason in (m.groups() for m in skips))
    # Every skip written down is one checkov applied: no stale or mistyped suppression.
    assert {m.group(1) for m in skips} == skipped


def test_checkov_insecure_template_fails(checkov: Path, tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(_INSECURE_STORAGE)

    report = run_checkov(checkov, tmp_path)
    failed = {c["check_id"] for c in report["results"]["failed_checks"]}

    assert {"CKV_AZURE_3", "CKV_AZURE_44"} <= failed  # HTTPS only; TLS 1.2 minimum
