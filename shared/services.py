"""The per-process singletons: settings, credential, clients and services, built once.

Functions share a worker process across invocations, so everything here is created on first
use and reused; tests and benchmarks may install their own instance with `use_services`.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from dataclasses import dataclass

from azure.core.credentials import TokenCredential

from shared.acs import AcsClient
from shared.auth import CallerAuthenticator
from shared.credential import build_credential
from shared.identity_map import TableIdentityMap
from shared.settings import ConfigurationError, Settings
from shared.sms import SmsService
from shared.sms_acs import SmsClient
from shared.sms_store import IdempotencyStore
from shared.tables import LazyTable, build_service_client
from shared.tokens import TokenService

logger = logging.getLogger(__name__)

# azure-core logs every request's (redacted) headers at INFO: one Table or ACS call would
# add a dozen lines per invocation to Application Insights. Its warnings still come through.
_QUIET_LOGGERS = ("azure.core.pipeline.policies.http_logging_policy",)


@dataclass(frozen=True)
class Services:
    settings: Settings
    credential: TokenCredential
    acs: AcsClient
    authenticator: CallerAuthenticator
    tokens: TokenService
    sms: SmsService

    @classmethod
    def build(cls, settings: Settings) -> Services:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        credential = build_credential(settings.azure_client_id)
        acs = AcsClient(settings.acs_endpoint, credential, retry_seconds=settings.acs_retry_seconds)
        tables = build_service_client(settings.identity_table, credential)
        identities = TableIdentityMap(LazyTable(tables, settings.identity_table_name))
        return cls(
            settings=settings,
            credential=credential,
            acs=acs,
            authenticator=CallerAuthenticator(
                settings.auth_issuer, settings.auth_audiences, ssl_context=_ssl_context(),
                required_scope=settings.auth_required_scope,
            ),
            tokens=TokenService(acs, identities),
            sms=SmsService(
                settings.sms_from,
                SmsClient(acs),
                IdempotencyStore(LazyTable(tables, settings.idempotency_table_name)),
            ),
        )


def _ssl_context() -> ssl.SSLContext:
    # Honour the same CA bundle override azure-core's transport honours (a local CA in dev).
    return ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE") or None)


_lock = threading.Lock()
_services: Services | None = None


def get_services() -> Services:
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                _services = Services.build(Settings.from_env())
    return _services


def use_services(services: Services | None) -> None:
    """Install (or with None, forget) the process's services; for tests and benchmarks."""
    global _services
    with _lock:
        _services = services


def report_configuration() -> None:
    """Log every configuration problem as the worker loads the functions.

    Calls still fail closed (each answers 500 and logs the same message) until it is fixed;
    this makes the problem visible at start-up rather than at the first request.
    """
    try:
        Settings.from_env()
    except ConfigurationError as exc:
        logger.error("%s", exc)


report_configuration()
