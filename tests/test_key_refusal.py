"""Key refusal: every key-shaped setting value is refused however it is spelled; the Azurite
development account only as the exact development connection or with loopback endpoints."""

from __future__ import annotations

import pytest
from azure.core.credentials import AccessToken

from shared.settings import (
    AZURITE_KEY,
    ConfigurationError,
    Settings,
    carries_key,
    is_development_storage,
)
from shared.tables import build_service_client

VALID = {
    "ACS_ENDPOINT": "https://contoso.communication.azure.com",
    "AUTH_ISSUER": "https://login.microsoftonline.com/tid/v2.0",
    "AUTH_AUDIENCE": "api://app",
    "IDENTITY_TABLE_ENDPOINT": "https://acct.table.core.windows.net",
}
AZURITE = (
    f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)
# The attack: the development prefix, then a real account's key and endpoint.
PREFIXED = ("UseDevelopmentStorage=true;AccountName=victim;AccountKey=c2VjcmV0;"
            "TableEndpoint=https://victim.table.core.windows.net")


def _problems(env: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env(env)
    return str(raised.value)


class _NoCredential:
    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        raise AssertionError("not used")


@pytest.mark.parametrize("name", ["IDENTITY_TABLE_ENDPOINT", "AzureWebJobsStorage"])
def test_settings_development_prefix_with_real_account_refused(name: str) -> None:
    assert not is_development_storage(PREFIXED)
    message = _problems({**VALID, name: PREFIXED})
    assert name in message and "c2VjcmV0" not in message


@pytest.mark.parametrize("value", [
    "UseDevelopmentStorage=true",
    " usedevelopmentstorage = TRUE ;",
    AZURITE,
    AZURITE.replace("127.0.0.1", "localhost"),
    AZURITE.replace("127.0.0.1", "[::1]"),
])
def test_development_storage_exact_or_loopback_accepted(value: str) -> None:
    assert is_development_storage(value)
    Settings.from_env({**VALID, "IDENTITY_TABLE_ENDPOINT": value, "AzureWebJobsStorage": value})


@pytest.mark.parametrize("value", [
    "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=https://proxy.example.com",
    "UseDevelopmentStorage=true;TableEndpoint=https://victim.table.core.windows.net",
    AZURITE + "EndpointSuffix=core.windows.net;",
    AZURITE.replace("TableEndpoint=http://127.0.0.1:10002", "TableEndpoint=https://evil.example"),
    AZURITE + "TableEndpoint=https://victim.table.core.windows.net;",  # duplicate key
    AZURITE.replace("devstoreaccount1;AccountKey", "victim;AccountKey"),
    AZURITE.replace(AZURITE_KEY, "c2VjcmV0"),
    AZURITE + "SharedAccessSignature=sv=2020&sig=abc;",
    AZURITE.replace("http://127.0.0.1:10002", "http://user:pw@127.0.0.1:10002"),
    AZURITE.replace("http://127.0.0.1:10002", "http://127.0.0.1.evil.example:10002"),
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={AZURITE_KEY};",  # no endpoints: the SDK would go to core.windows.net
])
def test_development_storage_anything_else_refused(value: str) -> None:
    assert not is_development_storage(value)
    message = _problems({**VALID, "IDENTITY_TABLE_ENDPOINT": value})
    assert "IDENTITY_TABLE_ENDPOINT" in message


@pytest.mark.parametrize("value", [
    "endpoint=https://x.communication.azure.com/;accesskey=c2VjcmV0",
    "endpoint=https://x/;AccessKey\t=c2VjcmV0",
    "endpoint=https://x/;accesskey\u00a0=c2VjcmV0",
    "endpoint=https://x/;access key\u2003=\u3000c2VjcmV0",
    "endpoint=https://x/;ACCESS\u200bKEY=c2VjcmV0",
    "endpoint=https://x/;\uff41ccesskey=c2VjcmV0",  # fullwidth letter
    "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey=c2VjcmV0",
    "AccountName=a;AccountKey=c2VjcmV0",
    "Account Key =c2VjcmV0",
    "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2020&sig=c2VjcmV0",
    "https://a.table.core.windows.net/?sv=2020-08-04&ss=t&sig=c2VjcmV0",
    "https://user:c2VjcmV0@contoso.communication.azure.com",
])
def test_carries_key_any_spelling_detected(value: str) -> None:
    assert carries_key(value)


@pytest.mark.parametrize("value", [
    "https://contoso.communication.azure.com",
    "api://app, api://other",
    "chat,voip",
    "+18005550100",
    "https://login.microsoftonline.com/tid/v2.0",
])
def test_carries_key_ordinary_values_not_detected(value: str) -> None:
    assert not carries_key(value)


@pytest.mark.parametrize("spelling", [
    "accesskey\t=", "accesskey\u00a0=", "AccessKey =", "access\u2009key=", "ACCESSKEY\u3000=",
])
def test_settings_acs_key_spelled_with_unicode_spaces_refused(spelling: str) -> None:
    message = _problems({**VALID, "SOME_OTHER": f"endpoint=https://x/;{spelling}c2VjcmV0"})
    assert "SOME_OTHER" in message and "c2VjcmV0" not in message


@pytest.mark.parametrize("name", ["ACS_ENDPOINT", "AUTH_ISSUER", "IDENTITY_TABLE_ENDPOINT"])
@pytest.mark.parametrize("userinfo", ["user:c2VjcmV0@", "user@", ":c2VjcmV0@"])
def test_settings_url_with_userinfo_refused(name: str, userinfo: str) -> None:
    url = VALID[name].replace("https://", f"https://{userinfo}")
    message = _problems({**VALID, name: url})
    assert name in message and "c2VjcmV0" not in message


@pytest.mark.parametrize("name", ["ACS_ENDPOINT", "AUTH_ISSUER", "AUTH_AUDIENCE"])
def test_settings_storage_key_in_service_setting_refused(name: str) -> None:
    message = _problems({**VALID, name: "AccountName=a;AccountKey=c2VjcmV0"})
    assert name in message and "c2VjcmV0" not in message


def test_table_client_shared_key_only_for_loopback() -> None:
    with pytest.raises(ConfigurationError):
        build_service_client(PREFIXED, _NoCredential())
    with pytest.raises(ConfigurationError):
        build_service_client(AZURITE.replace("127.0.0.1", "storage.example.com"),
                             _NoCredential())
    client = build_service_client(AZURITE, _NoCredential())
    assert client.url.startswith("http://127.0.0.1:10002")
    default = build_service_client("UseDevelopmentStorage=true", _NoCredential())
    assert default.url.startswith("http://127.0.0.1:10002")
