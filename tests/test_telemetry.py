"""OpenTelemetry export: off and never imported without a connection string, on once with one.

Each case runs in a fresh interpreter: configuring the distribution sets process-wide
OpenTelemetry providers, and the off case must see a module table no other test touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.clients.telemetry import CONNECTION_SETTING, connection_string

# A syntactically valid connection string whose ingestion endpoint is a closed loopback port:
# configuring the exporter contacts nothing, and a stray export fails at once.
BOGUS_CONNECTION = (
    "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
    "IngestionEndpoint=https://127.0.0.1:9/"
)

# Builds the service singletons as the worker does, then reports what telemetry did.
_PROBE = """
import json, sys
from shared.services import Services
from shared.config.settings import Settings
from shared.clients.telemetry import configure_telemetry

settings = Settings(
    acs_endpoint="https://example.communication.azure.com",
    auth_issuer="https://login.microsoftonline.com/tenant/v2.0",
    auth_audiences=("api://example",),
    table_endpoint="https://example.table.core.windows.net",
)
services = Services.build(settings)
report = {"distro_loaded": "azure.monitor.opentelemetry" in sys.modules}
if report["distro_loaded"]:
    from opentelemetry import trace
    provider = trace.get_tracer_provider()
    report["provider"] = type(provider).__module__ + "." + type(provider).__name__
    report["again"] = configure_telemetry(services.credential)
    report["same_provider"] = trace.get_tracer_provider() is provider
    from opentelemetry._logs import get_logger_provider
    logs = get_logger_provider()
    report["log_provider"] = type(logs).__module__ + "." + type(logs).__name__
    provider.shutdown()
print(json.dumps(report))
"""


def _probe(repo_root: Path, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=repo_root, env=env, capture_output=True,
        text=True, timeout=120, check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def clean_env() -> dict[str, str]:
    unset = (CONNECTION_SETTING, "OTEL_LOGS_EXPORTER")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    # No managed identity endpoint: the credential is the developer chain, which fails fast
    # here (no az CLI), so a shutdown flush cannot wait on a token.
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT"):
        env.pop(name, None)
    return env


def test_telemetry_without_connection_string_distro_never_imported(
    repo_root: Path, clean_env: dict[str, str]
) -> None:
    report = _probe(repo_root, clean_env)

    assert report == {"distro_loaded": False}


def test_telemetry_blank_connection_string_stays_off(
    repo_root: Path, clean_env: dict[str, str]
) -> None:
    report = _probe(repo_root, {**clean_env, CONNECTION_SETTING: "   "})

    assert report == {"distro_loaded": False}


def test_telemetry_with_connection_string_configured_once_without_log_export(
    repo_root: Path, clean_env: dict[str, str]
) -> None:
    # OTEL_LOGS_EXPORTER as the deployment sets it (infra/modules/functionapp.bicep).
    env = {**clean_env, CONNECTION_SETTING: BOGUS_CONNECTION, "OTEL_LOGS_EXPORTER": "none"}
    report = _probe(repo_root, env)

    assert report["distro_loaded"] is True
    assert report["provider"] == "opentelemetry.sdk.trace.TracerProvider"
    assert report["again"] is True
    assert report["same_provider"] is True
    # The host forwards worker logs; an SDK log provider would export every line twice.
    assert not str(report["log_provider"]).startswith("opentelemetry.sdk")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({CONNECTION_SETTING: ""}, None),
        ({CONNECTION_SETTING: " \t"}, None),
        ({CONNECTION_SETTING: f" {BOGUS_CONNECTION} "}, BOGUS_CONNECTION),
    ],
)
def test_connection_string_setting_decides(environ: dict[str, str], expected: str | None) -> None:
    assert connection_string(environ) == expected
