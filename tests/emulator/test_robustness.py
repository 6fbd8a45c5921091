"""Bad input anywhere gets a JSON error envelope with a 4xx status: never a 5xx, never a
traceback, never a hung connection."""

from __future__ import annotations

import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from emulator.client import EmulatorClient
from tests.emulator.acs_http import AcsHttp, identity_path


def _assert_client_error(response: Any, status: int | None = None) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] and isinstance(body["error"]["message"], str)
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize("raw", [b"{", b"[]", b'"text"', b"null", b"\xff\xfe", b"42"])
@pytest.mark.parametrize("path", ["/identities", "/sms", "/sms/optouts:check",
                                  "ISSUE", "/teamsUser/:exchangeAccessToken"])
def test_robustness_malformed_json_acs_4xx(acs: AcsHttp, raw: bytes, path: str) -> None:
    version = "2026-01-23" if path.startswith("/sms") else "2023-10-01"
    if path == "ISSUE":
        path = identity_path(acs.create_identity(), "issueAccessToken")
    response = acs.call("POST", path, raw, api_version=version)
    if path == "/identities" and raw == b"null":
        assert response.status_code == 201  # an empty create request is valid
        return
    _assert_client_error(response, 400)


@pytest.mark.parametrize(("path", "body"), [
    ("/oidc/token", b"{"),
    ("/oidc/token", b"[1]"),
    ("/admin/faults", b"{"),
    ("/admin/faults", b'{"operation": "sms.send"}'),
    ("/admin/faults", b'{"operation": "sms.send", "status": "503"}'),
    ("/admin/faults", b'{"operation": "nope", "status": 503}'),
    ("/admin/faults", b'{"operation": "sms.send", "status": 503, "count": 0}'),
    ("/admin/faults", b'{"operation": "sms.send", "status": 503, "latencyMs": -1}'),
    ("/admin/assignments", b"{}"),
    ("/admin/tokens/verify", b'{"token": 1}'),
    ("/admin/mi/token", b'{"ttl": "long"}'),
    ("/admin/oidc/rotate", b'{"retainPrevious": "no"}'),
])
def test_robustness_bad_admin_and_oidc_bodies_400(emulator: EmulatorClient, path: str,
                                                  body: bytes) -> None:
    base = emulator.issuer if path.startswith("/oidc") else emulator.admin
    url = base + path.removeprefix("/oidc").removeprefix("/admin")
    response = emulator.http.post(url, data=body, headers={"Content-Type": "application/json"},
                                  timeout=10)
    _assert_client_error(response, 400)


def test_robustness_unknown_operation_in_faults_400(emulator: EmulatorClient) -> None:
    response = emulator.http.post(f"{emulator.admin}/faults",
                                  json={"operation": "sms.sendd", "status": 503}, timeout=10)
    assert "sms.send" in _assert_client_error(response, 400)["error"]["message"]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/nothing-here", 404),
    ("GET", "/identities", 405),
    ("PUT", "/sms", 405),
    ("GET", "/identities/abc/:issueAccessToken", 405),
    ("DELETE", "/admin/sms", 405),
    ("POST", "/msi/token", 405),
    ("PATCH", "/admin/reset", 405),
    ("GET", "/admin/unknown", 404),
])
def test_robustness_unknown_path_or_wrong_method_4xx(acs: AcsHttp, method: str, path: str,
                                                     status: int) -> None:
    response = acs.http.request(method, acs.endpoint + path, timeout=10)
    _assert_client_error(response, status)


def test_robustness_oversized_body_413(acs: AcsHttp, emulator: EmulatorClient) -> None:
    body = b'{"message": "' + b"x" * (1024 * 1024 + 1) + b'"}'
    response = acs.call("POST", "/sms", body, api_version="2021-03-07")
    _assert_client_error(response, 413)
    assert emulator.sms() == []
    assert emulator.counters()["sms.send"] == 1


def _raw_exchange(settings: dict[str, str], payload: bytes) -> bytes:
    host, port = settings["ACS_ENDPOINT"].removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=settings["REQUESTS_CA_BUNDLE"])
    with socket.create_connection((host, int(port)), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall(payload)
        chunks = []
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("payload", [
    b"GARBAGE\r\n\r\n",
    b"POST /identities?api-version=2023-10-01 HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n"
    b"Connection: close\r\n\r\n",
    b"POST /sms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    b"0\r\n\r\n",
    b"FROB /identities HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
])
def test_robustness_malformed_http_json_envelope_4xx(emulator: EmulatorClient,
                                                     payload: bytes) -> None:
    reply = _raw_exchange(emulator.settings, payload)
    status_line, _, rest = reply.partition(b"\r\n")
    status = int(status_line.split()[1])
    assert 400 <= status < 500, reply
    assert b'"error"' in rest and b"Traceback" not in rest


def test_robustness_keep_alive_serves_many_requests_on_one_connection(
    acs: AcsHttp, emulator: EmulatorClient
) -> None:
    for _ in range(5):
        assert acs.call("POST", "/identities").status_code == 201
        assert acs.http.get(acs.endpoint + "/nowhere", timeout=10).status_code == 404
    # A 404 and a 400 with unread-looking bodies must not desync the connection either.
    assert acs.call("POST", "/identities", b"{", api_version="2023-10-01").status_code == 400
    assert acs.call("POST", "/identities").status_code == 201
    assert len(emulator.identities()) == 6


def test_robustness_concurrent_requests_all_succeed(acs: AcsHttp,
                                                    emulator: EmulatorClient) -> None:
    def create(_: int) -> int:
        client = AcsHttp(acs.settings)
        return client.call("POST", "/identities", {"createTokenWithScopes": ["chat"]}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(24)))
    assert statuses == [201] * 24
    assert len({item["id"] for item in emulator.identities()}) == 24
