"""OpenTelemetry export to Application Insights, configured once per process and only in Azure.

Without APPLICATIONINSIGHTS_CONNECTION_STRING (local runs, tests) nothing is imported or set up.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

from azure.core.credentials import TokenCredential

logger = logging.getLogger(__name__)

CONNECTION_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"

_lock = threading.Lock()
_configured = False


def connection_string(environ: Mapping[str, str] | None = None) -> str | None:
    """The Application Insights connection string, or None where telemetry stays off."""
    env = os.environ if environ is None else environ
    return env.get(CONNECTION_SETTING, "").strip() or None


def configure_telemetry(
    credential: TokenCredential, environ: Mapping[str, str] | None = None
) -> bool:
    """Export the worker's traces and metrics with the app's Entra credential; True if on.

    Application Insights has local (instrumentation key) authentication disabled, so the
    exporter must present a token of the identity that holds Monitoring Metrics Publisher.
    The deployment sets OTEL_LOGS_EXPORTER=none: the Functions host already forwards every
    worker log record, and exporting them here as well would store each line twice.
    """
    global _configured
    connection = connection_string(environ)
    if connection is None:
        return False
    with _lock:
        if _configured:
            return True
        # Imported here: the distribution loads OpenTelemetry and its instrumentations,
        # a cost only a process that exports should pay.
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(connection_string=connection, credential=credential)
        _configured = True
    logger.info("Exporting OpenTelemetry to Application Insights with Entra ID authentication")
    return True
