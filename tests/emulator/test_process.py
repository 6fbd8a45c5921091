"""The emulator as a process: started the way devhost starts it, the settings contract it
publishes, loopback-only listening and a clean stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devhost.services import REPO_ROOT, Service, start_emulator

CONTRACT_KEYS = {
    "ACS_ENDPOINT", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AUTH_ISSUER", "AUTH_AUDIENCE",
    "REQUESTS_CA_BUNDLE", "EMULATOR_CONNECTION_STRING", "EMULATOR_ADMIN", "SMS_FROM",
}


@pytest.fixture
def second_emulator(tmp_path: Path) -> Iterator[Service]:
    service = start_emulator(workdir=tmp_path)
    try:
        yield service
    finally:
        service.stop()


def test_process_settings_file_has_every_contract_key(second_emulator: Service,
                                                      tmp_path: Path) -> None:
    written = json.loads((tmp_path / "emulator-settings.json").read_text())
    assert set(written) == CONTRACT_KEYS
    assert written == second_emulator.settings
    endpoint = written["ACS_ENDPOINT"]
    assert endpoint.startswith("https://127.0.0.1:")
    assert written["IDENTITY_ENDPOINT"] == f"{endpoint}/msi/token"
    assert written["AUTH_ISSUER"] == f"{endpoint}/oidc"
    assert written["EMULATOR_ADMIN"] == f"{endpoint}/admin"
    assert written["EMULATOR_CONNECTION_STRING"].startswith(f"endpoint={endpoint}/;accesskey=")
    assert Path(written["REQUESTS_CA_BUNDLE"]).read_text().startswith("-----BEGIN CERTIFICATE")
    # Printed on stdout as one JSON line too, the secrets left to the file.
    printed = json.loads(second_emulator.log_path.read_text().splitlines()[0])
    secrets = {"EMULATOR_CONNECTION_STRING", "IDENTITY_HEADER"}
    assert {k: v for k, v in printed.items() if k not in secrets} == {
        k: v for k, v in written.items() if k not in secrets}
    assert all(printed[k] == "(in the settings file)" for k in secrets)


def test_process_two_emulators_are_independent(second_emulator: Service,
                                               emulator_settings: dict[str, str]) -> None:
    other = second_emulator.settings
    assert other["ACS_ENDPOINT"] != emulator_settings["ACS_ENDPOINT"]
    assert other["IDENTITY_HEADER"] != emulator_settings["IDENTITY_HEADER"]
    response = requests.get(f"{other['AUTH_ISSUER']}/jwks", verify=other["REQUESTS_CA_BUNDLE"],
                            timeout=10)
    assert response.status_code == 200
    # Each emulator's CA is its own: the other CA does not vouch for this server.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{other['AUTH_ISSUER']}/jwks",
                     verify=emulator_settings["REQUESTS_CA_BUNDLE"], timeout=10)


def test_process_sigterm_stops_cleanly_and_removes_ca(second_emulator: Service) -> None:
    ca = Path(second_emulator.settings["REQUESTS_CA_BUNDLE"])
    second_emulator.process.send_signal(signal.SIGTERM)
    assert second_emulator.process.wait(timeout=10) == 0
    assert not ca.exists()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])  # noqa: S104
def test_process_non_loopback_host_refused(host: str, tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.json"
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--host", host, "--settings-file", str(settings_file)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode != 0
    assert "loopback" in result.stderr
    assert not settings_file.exists()


def test_process_ipv6_loopback_serves(tmp_path: Path) -> None:
    service = start_emulator(workdir=tmp_path, host="::1")
    try:
        settings = service.settings
        assert settings["ACS_ENDPOINT"].startswith("https://[::1]:")
        response = requests.get(f"{settings['AUTH_ISSUER']}/.well-known/openid-configuration",
                                verify=settings["REQUESTS_CA_BUNDLE"], timeout=10)
        assert response.json()["issuer"] == settings["AUTH_ISSUER"]
    finally:
        service.stop()


def test_process_log_holds_no_access_key_or_identity_header(second_emulator: Service) -> None:
    settings = second_emulator.settings
    access_key = settings["EMULATOR_CONNECTION_STRING"].split("accesskey=", 1)[1]
    log = second_emulator.log_path.read_text()
    assert settings["ACS_ENDPOINT"] in log  # the log is written, just without secrets
    assert access_key not in log
    assert settings["IDENTITY_HEADER"] not in log
