"""Settings: validated once, every problem named together, keys refused, values never echoed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config.settings import (
    AZURITE_KEY,
    ConfigurationError,
    Settings,
    is_development_storage,
)

VALID = {
    "ACS_ENDPOINT": "https://contoso.communication.azure.com/",
    "AUTH_ISSUER": "https://login.microsoftonline.com/tid/v2.0",
    "AUTH_AUDIENCE": "api://app, api://other",
    "IDENTITY_TABLE_ENDPOINT": "https://acct.table.core.windows.net",
}
AZURITE = (
    f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)


def _problems(env: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env(env)
    return str(raised.value)


def test_settings_valid_environment_defaults_applied() -> None:
    settings = Settings.from_env(VALID)
    assert settings.acs_endpoint == "https://contoso.communication.azure.com"
    assert settings.auth_audiences == ("api://app", "api://other")
    assert settings.token_scopes == frozenset({"chat", "voip"})
    assert settings.token_expires_minutes == 60
    assert settings.sms_send_role == "Sms.Send"
    assert settings.identity_admin_role == "Identity.Admin"
    assert settings.azure_client_id is None
    assert settings.identity_cache_seconds == 300


def test_settings_identity_cache_zero_turns_it_off() -> None:
    assert Settings.from_env({**VALID, "IDENTITY_CACHE_SECONDS": "0"}).identity_cache_seconds == 0
    assert Settings.from_env({**VALID, "IDENTITY_CACHE_SECONDS": "30"}).identity_cache_seconds == 30


def test_settings_identity_admin_role_taken_from_environment() -> None:
    settings = Settings.from_env({**VALID, "IDENTITY_ADMIN_ROLE": "Accounts.Offboard"})
    assert settings.identity_admin_role == "Accounts.Offboard"


def test_settings_issuer_kept_exactly_for_iss_comparison() -> None:
    settings = Settings.from_env({**VALID, "AUTH_ISSUER": "https://sts.windows.net/tid/"})
    assert settings.auth_issuer == "https://sts.windows.net/tid/"


def test_settings_empty_environment_names_every_required_setting() -> None:
    message = _problems({})
    for name in ("ACS_ENDPOINT", "AUTH_ISSUER", "AUTH_AUDIENCE", "IDENTITY_TABLE_ENDPOINT"):
        assert name in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ACS_ENDPOINT", "http://contoso.communication.azure.com"),
        ("ACS_ENDPOINT", "https://contoso.communication.azure.com/path"),
        ("AUTH_ISSUER", "ftp://issuer"),
        ("TOKEN_SCOPES", "chat,admin"),
        ("TOKEN_EXPIRES_MINUTES", "59"),
        ("TOKEN_EXPIRES_MINUTES", "1441"),
        ("TOKEN_EXPIRES_MINUTES", "sixty"),
        ("AZURE_CLIENT_ID", "not-a-guid"),
        ("SMS_FROM", "not a number!"),
        ("SMS_MAX_RECIPIENTS", "-5"),
        ("SMS_ALLOWED_COUNTRY_CODES", "US,XX"),
        ("IDENTITY_TABLE_NAME", "bad-name"),
        ("ACS_RETRY_SECONDS", "600"),
        ("IDENTITY_CACHE_SECONDS", "7200"),
        ("IDENTITY_CACHE_SECONDS", "-1"),
        ("IDENTITY_ADMIN_ROLE", "admin role with spaces"),
    ],
)
def test_settings_bad_value_named_but_not_echoed(name: str, value: str) -> None:
    message = _problems({**VALID, name: value})
    assert name in message
    assert value not in message


def test_settings_several_problems_reported_together() -> None:
    message = _problems({**VALID, "TOKEN_SCOPES": "x", "TOKEN_EXPIRES_MINUTES": "5"})
    assert "TOKEN_SCOPES" in message and "TOKEN_EXPIRES_MINUTES" in message


@pytest.mark.parametrize(
    "name", ["ACS_CONNECTION_STRING", "ACS_ACCESS_KEY", "COMMUNICATION_SERVICES_CONNECTION_STRING"]
)
def test_settings_acs_key_setting_refused(name: str) -> None:
    secret = "endpoint=https://x.communication.azure.com/;accesskey=c2VjcmV0"
    message = _problems({**VALID, name: secret})
    assert name in message and "managed identity" in message
    assert "c2VjcmV0" not in message


def test_settings_acs_key_in_any_setting_refused() -> None:
    message = _problems({**VALID, "SOME_OTHER": "endpoint=https://x/;accesskey=c2VjcmV0"})
    assert "SOME_OTHER" in message and "c2VjcmV0" not in message


def test_settings_storage_key_refused_outside_azurite() -> None:
    real = "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=c2VjcmV0;"
    message = _problems({**VALID, "IDENTITY_TABLE_ENDPOINT": real, "AzureWebJobsStorage": real})
    assert "IDENTITY_TABLE_ENDPOINT" in message and "AzureWebJobsStorage" in message
    assert "c2VjcmV0" not in message


def test_settings_azurite_development_account_accepted_on_loopback() -> None:
    settings = Settings.from_env(
        {**VALID, "IDENTITY_TABLE_ENDPOINT": AZURITE, "AzureWebJobsStorage": AZURITE}
    )
    assert settings.table_endpoint == AZURITE


def test_settings_azurite_key_on_remote_host_refused() -> None:
    remote = AZURITE.replace("127.0.0.1", "storage.example.com")
    assert not is_development_storage(remote)
    assert "IDENTITY_TABLE_ENDPOINT" in _problems({**VALID, "IDENTITY_TABLE_ENDPOINT": remote})


def test_settings_allowed_regions_normalised() -> None:
    settings = Settings.from_env({**VALID, "SMS_ALLOWED_COUNTRY_CODES": "us, ca"})
    assert settings.sms_allowed_regions == frozenset({"US", "CA"})


def test_create_identity_misconfigured_app_500_generic_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import CreateIdentity
    from devhost.direct import http_request, json_body
    from shared.services import use_services

    for name in VALID:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ACS_CONNECTION_STRING", "endpoint=https://x/;accesskey=c2VjcmV0")
    use_services(None)
    try:
        response = CreateIdentity.main(http_request("POST", "identities", token="x.y.z"))
    finally:
        use_services(None)

    assert response.status_code == 500
    body = json_body(response)
    assert body["detail"] == "The request could not be completed."
    assert "ACS_CONNECTION_STRING" in caplog.text and "ACS_ENDPOINT" in caplog.text
    assert "c2VjcmV0" not in caplog.text and "c2VjcmV0" not in response.get_body().decode()


def test_function_module_import_with_bad_configuration_logs_nothing(tmp_path: Path) -> None:
    """Importing a function (what `make bench` or a tool does) reports nothing; the host
    learns about configuration problems from the first call, which fails closed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACS_", "AUTH_", "IDENTITY_"))}
    done = subprocess.run(
        [sys.executable, "-c", "import logging; logging.basicConfig(level=logging.DEBUG); "
         "import IssueToken, CreateIdentity, SendSms, SmsOutbox"],
        cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "configuration" not in done.stderr.lower()
    assert "ACS_ENDPOINT" not in done.stderr
