"""The ACS surface accepts exactly the two schemes ACS accepts, HMAC-SHA256 and Entra bearer
tokens, and refuses everything else with 401 (or 403 for an unassigned principal)."""

from __future__ import annotations

import datetime as dt

import pytest

from emulator.client import EmulatorClient
from tests.emulator.acs_http import AcsHttp, rfc1123


def _refused(response: object, status: int = 401) -> dict[str, str]:
    assert getattr(response, "status_code", None) == status, getattr(response, "text", "")
    error: dict[str, str] = response.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] and error["message"]
    return error


def test_auth_hmac_as_the_sdk_signs_accepted(acs: AcsHttp) -> None:
    assert acs.call("POST", "/identities").status_code == 201


def test_auth_missing_header_401(acs: AcsHttp, emulator: EmulatorClient) -> None:
    _refused(acs.call("POST", "/identities", auth="none"))
    assert emulator.identities() == []


def test_auth_unknown_scheme_401(acs: AcsHttp) -> None:
    _refused(acs.call("POST", "/identities", auth="none",
                      headers={"Authorization": "Basic dXNlcjpwYXNz"}))


def test_auth_hmac_wrong_key_401(acs: AcsHttp) -> None:
    other_key = "c2VjcmV0LWJ1dC1ub3QtdGhlLXJpZ2h0LW9uZQ=="
    assert _refused(acs.call("POST", "/identities", key=other_key))["code"] == "Denied"


def test_auth_hmac_body_tampered_after_signing_401(acs: AcsHttp,
                                                  emulator: EmulatorClient) -> None:
    signed = {"createTokenWithScopes": ["chat"]}
    error = _refused(acs.call("POST", "/identities", signed,
                              sent_body=b'{"createTokenWithScopes": ["voip"]}'))
    assert error["message"] == "Request 'x-ms-content-sha256' differs from generated content hash."
    assert emulator.identities() == []


def test_auth_hmac_hash_header_matches_tampered_body_signature_fails_401(acs: AcsHttp) -> None:
    """Recomputing x-ms-content-sha256 for the new body does not help: the signature covers it."""
    path = "/identities?api-version=2023-10-01"
    headers = acs.hmac_headers("POST", path, b"{}")
    tampered = b'{"createTokenWithScopes": ["chat"]}'
    headers["x-ms-content-sha256"] = acs.hmac_headers("POST", path, tampered)[
        "x-ms-content-sha256"]
    response = acs.http.post(acs.endpoint + path, data=tampered, headers=headers, timeout=10)
    _refused(response)


@pytest.mark.parametrize("minutes", [-20, 20])
def test_auth_hmac_date_outside_15_minutes_401(acs: AcsHttp, minutes: int) -> None:
    date = rfc1123(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes))
    _refused(acs.call("POST", "/identities", date=date))


def test_auth_hmac_date_within_skew_accepted(acs: AcsHttp) -> None:
    date = rfc1123(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    assert acs.call("POST", "/identities", date=date).status_code == 201


def test_auth_hmac_path_or_query_changed_after_signing_401(acs: AcsHttp) -> None:
    headers = acs.hmac_headers("POST", "/identities?api-version=2023-10-01", b"")
    response = acs.http.post(f"{acs.endpoint}/identities?api-version=2022-10-01",
                             headers=headers, timeout=10)
    _refused(response)


def test_auth_hmac_signed_for_another_host_401(acs: AcsHttp) -> None:
    path = "/identities?api-version=2023-10-01"
    headers = acs.hmac_headers("POST", path, b"", host="my-resource.communication.azure.com")
    _refused(acs.http.post(acs.endpoint + path, headers=headers, timeout=10))


def test_auth_hmac_other_signed_headers_401(acs: AcsHttp) -> None:
    path = "/identities?api-version=2023-10-01"
    headers = acs.hmac_headers("POST", path, b"")
    headers["Authorization"] = headers["Authorization"].replace("x-ms-date;host;", "date;host;")
    _refused(acs.http.post(acs.endpoint + path, headers=headers, timeout=10))


def test_auth_hmac_missing_date_401(acs: AcsHttp) -> None:
    path = "/identities?api-version=2023-10-01"
    headers = acs.hmac_headers("POST", path, b"")
    del headers["x-ms-date"]
    _refused(acs.http.post(acs.endpoint + path, headers=headers, timeout=10))


@pytest.mark.parametrize("audience", ["https://communication.azure.com",
                                      "https://communication.azure.com/"])
def test_auth_bearer_audience_with_or_without_slash_accepted(acs: AcsHttp,
                                                             audience: str) -> None:
    token = acs.mi_token(resource=audience)
    assert acs.call("POST", "/identities", auth="bearer", token=token).status_code == 201


def test_auth_bearer_expired_401(acs: AcsHttp) -> None:
    token = acs.admin_mi_token(ttl=-60)
    error = _refused(acs.call("POST", "/identities", auth="bearer", token=token))
    assert error["code"] == "InvalidAuthenticationToken"


def test_auth_bearer_wrong_audience_401(acs: AcsHttp) -> None:
    token = acs.mi_token(resource="https://vault.azure.net")
    _refused(acs.call("POST", "/identities", auth="bearer", token=token))


def test_auth_bearer_app_user_token_from_oidc_issuer_401(acs: AcsHttp,
                                                         emulator: EmulatorClient) -> None:
    """An app-user token is signed by the emulator too, but by the wrong issuer and key."""
    token = emulator.mint(aud="https://communication.azure.com")
    _refused(acs.call("POST", "/identities", auth="bearer", token=token))


def test_auth_bearer_unassigned_principal_403(acs: AcsHttp, emulator: EmulatorClient) -> None:
    token = acs.mi_token(client_id="11111111-2222-3333-4444-555555555555")
    error = _refused(acs.call("POST", "/identities", auth="bearer", token=token), 403)
    assert "11111111-2222-3333-4444-555555555555" in error["message"]
    assert emulator.identities() == []


def test_auth_refusal_does_not_leak_token_or_key(acs: AcsHttp) -> None:
    token = acs.admin_mi_token(ttl=-60)
    response = acs.call("POST", "/identities", auth="bearer", token=token)
    assert token not in response.text and token.split(".")[1] not in response.text
    response = acs.call("POST", "/identities", key="d3Jvbmcta2V5")
    assert acs.key not in response.text
