"""The admin API: fault injection (status, count, Retry-After, latency), counters, reset,
identity listing and role assignments."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from azure.communication.sms import SmsClient
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ManagedIdentityCredential

from emulator.client import EmulatorClient
from tests.emulator.acs_http import AcsHttp, identity_path


def _send_sms(acs: AcsHttp) -> Any:
    body = {"from": acs.settings["SMS_FROM"], "smsRecipients": [{"to": "+14255550123"}],
            "message": "x"}
    return acs.call("POST", "/sms", body, api_version="2021-03-07")


def test_admin_fault_answers_status_envelope_and_retry_after(acs: AcsHttp,
                                                             emulator: EmulatorClient) -> None:
    emulator.fault("sms.send", 503, count=2, retryAfter=7)
    for _ in range(2):
        response = _send_sms(acs)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "7"
        assert response.json()["error"]["code"] == "ServiceUnavailable"
    assert _send_sms(acs).status_code == 202
    assert len(emulator.sms()) == 1
    assert emulator.counters()["sms.send"] == 3


def test_admin_fault_without_retry_after_has_no_header(acs: AcsHttp,
                                                       emulator: EmulatorClient) -> None:
    emulator.fault("identity.create", 429)
    response = acs.call("POST", "/identities")
    assert response.status_code == 429 and "Retry-After" not in response.headers
    assert response.json()["error"]["code"] == "TooManyRequests"
    assert emulator.identities() == []


def test_admin_fault_latency_then_normal_answer(acs: AcsHttp, emulator: EmulatorClient) -> None:
    # One slow answer, then none: the second call takes far less than the fault's latency (a
    # loopback call takes milliseconds; the margin is for a busy shared machine).
    emulator.fault("identity.create", 200, latencyMs=1000)
    started = time.monotonic()
    assert acs.call("POST", "/identities").status_code == 201
    assert time.monotonic() - started >= 1.0
    started = time.monotonic()
    assert acs.call("POST", "/identities").status_code == 201
    assert time.monotonic() - started < 1.0


def test_admin_fault_latency_and_status_combined(acs: AcsHttp, emulator: EmulatorClient) -> None:
    emulator.fault("identity.issueToken", 500, latencyMs=200)
    identity_id = acs.create_identity()
    started = time.monotonic()
    response = acs.call("POST", identity_path(identity_id, "issueAccessToken"),
                        {"scopes": ["chat"]})
    assert response.status_code == 500 and time.monotonic() - started >= 0.2


@pytest.mark.parametrize("status", [200, 503])
def test_admin_fault_after_handling_latency_operation_done_before_answer(
    acs: AcsHttp, emulator: EmulatorClient, status: int
) -> None:
    emulator.fault("identity.create", status, latencyMs=1500, afterHandling=True)
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        answer = pool.submit(acs.call, "POST", "/identities")
        while not emulator.identities() and time.monotonic() - started < 1.5:
            time.sleep(0.02)
        created_while_waiting = bool(emulator.identities()) and not answer.done()
        response = answer.result(10)
    assert created_while_waiting  # the identity existed before the answer came
    assert time.monotonic() - started >= 1.5
    assert response.status_code == (201 if status == 200 else status)
    assert len(emulator.identities()) == 1


def test_admin_faults_queue_in_order(acs: AcsHttp, emulator: EmulatorClient) -> None:
    emulator.fault("sms.send", 429, retryAfter=1)
    emulator.fault("sms.send", 503)
    assert [_send_sms(acs).status_code for _ in range(3)] == [429, 503, 202]


def test_admin_fault_is_before_auth_and_counted(acs: AcsHttp, emulator: EmulatorClient) -> None:
    emulator.fault("identity.create", 503)
    assert acs.call("POST", "/identities", auth="none").status_code == 503
    assert acs.call("POST", "/identities", auth="none").status_code == 401
    assert emulator.counters()["identity.create"] == 2


def test_admin_sdk_retries_injected_503_with_retry_after(emulator: EmulatorClient) -> None:
    emulator.fault("sms.send", 503, retryAfter=1)
    client = SmsClient.from_connection_string(emulator.settings["EMULATOR_CONNECTION_STRING"])
    [result] = client.send(from_=emulator.settings["SMS_FROM"], to="+14255550123", message="x")
    assert result.successful
    assert emulator.counters()["sms.send"] == 2
    assert len(emulator.sms()) == 1


def test_admin_fault_on_mi_token_fails_credential(emulator: EmulatorClient) -> None:
    emulator.fault("mi.token", 400)
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential().get_token("https://communication.azure.com//.default")
    assert emulator.counters()["mi.token"] == 1


def test_admin_counters_count_every_operation_including_refused(
    acs: AcsHttp, emulator: EmulatorClient
) -> None:
    acs.mi_token()
    emulator.http.get(emulator.settings["IDENTITY_ENDPOINT"], timeout=10)  # refused: no header
    emulator.http.get(f"{emulator.issuer}/jwks", timeout=10)
    emulator.http.get(f"{emulator.issuer}/jwks", timeout=10)
    emulator.http.get(f"{emulator.issuer}/.well-known/openid-configuration", timeout=10)
    emulator.mint()
    acs.call("POST", "/identities", auth="none")  # refused: 401
    counters = emulator.counters()
    assert counters["mi.token"] == 2
    assert counters["oidc.jwks"] == 2
    assert counters["oidc.discovery"] == 1
    assert counters["oidc.mint"] == 1
    assert counters["identity.create"] == 1
    assert counters["sms.send"] == 0


def test_admin_reset_clears_state_but_not_keys(acs: AcsHttp, emulator: EmulatorClient) -> None:
    identity_id = acs.create_identity(createTokenWithScopes=["chat"])
    _send_sms(acs)
    acs.call("POST", "/sms/optouts:add",
             {"from": acs.settings["SMS_FROM"], "recipients": [{"to": "+14255550199"}]},
             api_version="2026-01-23")
    emulator.fault("sms.send", 503, count=5)
    emulator.http.post(f"{emulator.admin}/assignments", json={"clientId": "extra"}, timeout=10)
    jwks = emulator.http.get(f"{emulator.issuer}/jwks", timeout=10).json()
    emulator.reset()
    assert emulator.identities() == [] and emulator.sms() == []
    assert set(emulator.counters().values()) == {0}
    assignments = emulator.http.get(f"{emulator.admin}/assignments", timeout=10).json()
    assert assignments["clientIds"] == [assignments["systemAssigned"]]
    assert _send_sms(acs).status_code == 202  # the fault queue is gone
    check = acs.call("POST", "/sms/optouts:check",
                     {"from": acs.settings["SMS_FROM"], "recipients": [{"to": "+14255550199"}]},
                     api_version="2026-01-23")
    assert check.json()["value"][0]["isOptedOut"] is False
    assert emulator.http.get(f"{emulator.issuer}/jwks", timeout=10).json() == jwks
    assert identity_id not in {item["id"] for item in emulator.identities()}


def test_admin_identities_lists_state_and_revocation(acs: AcsHttp,
                                                     emulator: EmulatorClient) -> None:
    kept, revoked, deleted = (acs.create_identity() for _ in range(3))
    acs.call("POST", identity_path(revoked, "revokeAccessTokens"))
    acs.call("DELETE", identity_path(deleted))
    listed = {item["id"]: item for item in emulator.identities()}
    assert listed[kept]["state"] == "active" and "tokensRevokedAt" not in listed[kept]
    assert listed[revoked]["state"] == "active" and listed[revoked]["tokensRevokedAt"]
    assert listed[deleted]["state"] == "deleted"


def test_admin_faults_listing_shows_pending(emulator: EmulatorClient) -> None:
    emulator.fault("oidc.jwks", 503, count=3, retryAfter=2)
    pending = emulator.http.get(f"{emulator.admin}/faults", timeout=10).json()
    assert pending == {"oidc.jwks": [{"status": 503, "remaining": 3, "retryAfter": 2,
                                      "latencyMs": 0, "afterHandling": False}]}


def test_admin_faults_cleared_state_and_counters_kept(acs: AcsHttp,
                                                      emulator: EmulatorClient) -> None:
    identity = acs.create_identity()
    emulator.fault("identity.delete", 503, count=100)
    assert acs.call("DELETE", identity_path(identity)).status_code == 503

    emulator.clear_faults()

    assert emulator.http.get(f"{emulator.admin}/faults", timeout=10).json() == {}
    assert acs.call("DELETE", identity_path(identity)).status_code == 204
    assert emulator.counters()["identity.delete"] == 2
    assert [i["state"] for i in emulator.identities()] == ["deleted"]
