"""The local host's CORS: local.settings.json `Host.CORS` / `Host.CORSCredentials`, as func start.

Preflights are answered by the host before routing (204, the requested method and headers
echoed for an allowed origin, no CORS headers for another); actual responses carry
`Access-Control-Allow-Origin` for an allowed origin only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from devhost.__main__ import read_cors
from devhost.cors import CorsConfigError, CorsPolicy
from devhost.host import LocalHost
from tests.devhost.apps import AppFolder

ECHO = """
import azure.functions as func

def main(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.method, status_code=201)
"""

APP_ORIGIN = "http://localhost:8080"
OTHER_ORIGIN = "https://evil.example"

StartHost = Callable[..., LocalHost]


@pytest.fixture
def cors_host(app: AppFolder, start_host: StartHost) -> Callable[..., LocalHost]:
    app.http_function("Token", ECHO, route="token", methods=["post"])

    def start(cors: str, credentials: bool = False) -> LocalHost:
        policy = CorsPolicy.from_host_section({"CORS": cors, "CORSCredentials": credentials})
        return start_host(app, cors=policy)

    return start


def _preflight(url: str, origin: str, headers: str = "authorization,content-type"
               ) -> requests.Response:
    return requests.options(url, headers={
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }, timeout=10)


def test_cors_preflight_allowed_origin_answered_by_host_204(
    cors_host: Callable[..., LocalHost],
) -> None:
    host = cors_host(f"https://other.example, {APP_ORIGIN}")

    response = _preflight(f"{host.url}/api/token", APP_ORIGIN)

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert response.headers["Access-Control-Allow-Headers"] == "authorization,content-type"
    assert response.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.content == b""


def test_cors_preflight_refused_origin_204_without_cors_headers(
    cors_host: Callable[..., LocalHost],
) -> None:
    host = cors_host(APP_ORIGIN)

    response = _preflight(f"{host.url}/api/token", OTHER_ORIGIN)

    assert response.status_code == 204
    assert not [name for name in response.headers if name.lower().startswith("access-control")]


def test_cors_preflight_unknown_route_still_answered_by_host(
    cors_host: Callable[..., LocalHost],
) -> None:
    host = cors_host(APP_ORIGIN)

    response = _preflight(f"{host.url}/api/nothing-here", APP_ORIGIN)

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN


def test_cors_actual_request_allowed_origin_echoed(cors_host: Callable[..., LocalHost]) -> None:
    host = cors_host(APP_ORIGIN)

    response = requests.post(f"{host.url}/api/token", headers={"Origin": APP_ORIGIN}, timeout=10)

    assert response.status_code == 201
    assert response.text == "POST"
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert response.headers["Vary"] == "Origin"


def test_cors_actual_request_refused_origin_runs_without_cors_headers(
    cors_host: Callable[..., LocalHost],
) -> None:
    host = cors_host(APP_ORIGIN)

    response = requests.post(
        f"{host.url}/api/token", headers={"Origin": OTHER_ORIGIN}, timeout=10
    )

    # The function runs (CORS is enforced by the browser); the browser cannot read this.
    assert response.status_code == 201
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_error_responses_carry_headers_too(cors_host: Callable[..., LocalHost]) -> None:
    host = cors_host(APP_ORIGIN)

    response = requests.get(f"{host.url}/api/token", headers={"Origin": APP_ORIGIN}, timeout=10)

    assert response.status_code == 405
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN


def test_cors_wildcard_answers_star_for_any_origin(cors_host: Callable[..., LocalHost]) -> None:
    host = cors_host("*")

    preflight = _preflight(f"{host.url}/api/token", OTHER_ORIGIN)
    actual = requests.post(f"{host.url}/api/token", headers={"Origin": OTHER_ORIGIN}, timeout=10)

    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert actual.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in actual.headers


def test_cors_credentials_true_adds_allow_credentials(
    cors_host: Callable[..., LocalHost],
) -> None:
    host = cors_host(APP_ORIGIN, credentials=True)

    preflight = _preflight(f"{host.url}/api/token", APP_ORIGIN)
    actual = requests.post(f"{host.url}/api/token", headers={"Origin": APP_ORIGIN}, timeout=10)

    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert actual.headers["Access-Control-Allow-Credentials"] == "true"
    assert actual.headers["Access-Control-Allow-Origin"] == APP_ORIGIN


def test_cors_not_configured_options_reaches_routing(
    app: AppFolder, start_host: StartHost
) -> None:
    app.http_function("Token", ECHO, route="token", methods=["post"])
    host = start_host(app)

    response = _preflight(f"{host.url}/api/token", APP_ORIGIN)

    assert response.status_code == 405
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_plain_options_without_request_method_reaches_function(
    app: AppFolder, start_host: StartHost
) -> None:
    app.http_function("Any", ECHO, route="any")
    host = start_host(app, cors=CorsPolicy.from_host_section({"CORS": APP_ORIGIN}))

    response = requests.options(f"{host.url}/api/any", headers={"Origin": APP_ORIGIN}, timeout=10)

    assert response.status_code == 201
    assert response.text == "OPTIONS"
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN


@pytest.mark.parametrize(("section", "expected"), [
    ({}, None),
    ({"CORS": ""}, None),
    ({"CORS": "HTTP://LocalHost:8080"},
     CorsPolicy(frozenset({"http://localhost:8080"}), any_origin=False, credentials=False)),
    ({"CORS": "http://a.example,http://b.example", "CORSCredentials": "true"},
     CorsPolicy(frozenset({"http://a.example", "http://b.example"}), False, True)),
])
def test_cors_policy_host_section_parsed(
    section: dict[str, object], expected: CorsPolicy | None
) -> None:
    assert CorsPolicy.from_host_section(section) == expected


@pytest.mark.parametrize(("section", "message"), [
    ({"CORS": "*", "CORSCredentials": True}, "wildcard origin with credentials"),
    ({"CORS": "localhost:8080"}, "is not an origin"),
    ({"CORS": "http://a.example/path"}, "is not an origin"),
    ({"CORS": "http://a.example", "CORSCredentials": "yes"}, "true or false"),
])
def test_cors_policy_bad_host_section_refused(section: dict[str, object], message: str) -> None:
    with pytest.raises(CorsConfigError, match=message):
        CorsPolicy.from_host_section(section)


def test_cors_read_from_local_settings_host_section(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"Values": {}, "Host": {"CORS": APP_ORIGIN}}))

    assert read_cors(path) == CorsPolicy(frozenset({APP_ORIGIN}), False, False)


def test_cors_wildcard_with_credentials_stops_the_host_exit_2(
    tmp_path: Path, app: AppFolder
) -> None:
    settings = tmp_path / "local.settings.json"
    settings.write_text(json.dumps({"Values": {}, "Host": {"CORS": "*", "CORSCredentials": True}}))

    done = subprocess.run(
        [sys.executable, "-m", "devhost", "--app-root", str(app.root), "--port", "0",
         "--settings-file", str(settings)],
        capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )

    assert done.returncode == 2
    assert "wildcard origin with credentials" in done.stderr
