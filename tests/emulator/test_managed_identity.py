"""The App Service managed identity endpoint: the header secret, the api-version, and tokens
that azure-identity accepts and caches."""

from __future__ import annotations

import time

import jwt
import pytest
from azure.identity import ManagedIdentityCredential

from emulator.client import EmulatorClient


def _get(emulator: EmulatorClient, params: dict[str, str], headers: dict[str, str]
         ) -> tuple[int, dict[str, object]]:
    response = emulator.http.get(emulator.settings["IDENTITY_ENDPOINT"], params=params,
                                 headers=headers, timeout=10)
    return response.status_code, response.json()


PARAMS = {"api-version": "2019-08-01", "resource": "https://communication.azure.com/"}


def test_mi_token_with_header_returns_app_service_shape(emulator: EmulatorClient) -> None:
    status, body = _get(emulator, PARAMS,
                        {"X-IDENTITY-HEADER": emulator.settings["IDENTITY_HEADER"]})
    assert status == 200
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert body["token_type"] == "Bearer" and body["resource"] == PARAMS["resource"]
    expires_on = int(str(body["expires_on"]))
    assert 3500 < expires_on - time.time() <= 3600
    claims = jwt.decode(str(body["access_token"]), options={"verify_signature": False})
    assert claims["aud"] == PARAMS["resource"] and claims["appid"] == body["client_id"]
    assert {"iss", "oid", "iat", "nbf", "exp", "tid"} <= set(claims)


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401),
    ({"X-IDENTITY-HEADER": "wrong"}, 403),
])
def test_mi_token_missing_or_wrong_header_refused(emulator: EmulatorClient,
                                                  headers: dict[str, str], status: int) -> None:
    code, body = _get(emulator, PARAMS, headers)
    assert code == status
    assert "access_token" not in body and "error" in body


@pytest.mark.parametrize("params", [
    {"api-version": "2017-09-01", "resource": "https://communication.azure.com/"},
    {"resource": "https://communication.azure.com/"},
    {"api-version": "2019-08-01"},
])
def test_mi_token_bad_query_400(emulator: EmulatorClient, params: dict[str, str]) -> None:
    code, _ = _get(emulator, params, {"X-IDENTITY-HEADER": emulator.settings["IDENTITY_HEADER"]})
    assert code == 400


def test_mi_token_user_assigned_client_id_echoed(emulator: EmulatorClient) -> None:
    params = {**PARAMS, "client_id": "abc-123"}
    code, body = _get(emulator, params,
                      {"X-IDENTITY-HEADER": emulator.settings["IDENTITY_HEADER"]})
    assert code == 200 and body["client_id"] == "abc-123"


def test_mi_token_azure_identity_credential_gets_and_caches_token(
    emulator: EmulatorClient,
) -> None:
    credential = ManagedIdentityCredential()
    first = credential.get_token("https://communication.azure.com//.default")
    second = credential.get_token("https://communication.azure.com//.default")
    assert first.token == second.token
    assert 3500 < first.expires_on - time.time() <= 3600
    assert emulator.counters()["mi.token"] == 1
