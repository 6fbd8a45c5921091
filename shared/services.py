"""The per-process singletons: settings, credential, clients and services, built once.

Functions share a worker process across invocations, so everything here is created on first
use and reused; tests and benchmarks may install their own instance with `use_services`.
"""

from __future__ import annotations

import gc
import logging
import os
import ssl
import threading
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import HttpTransport

from shared.auth.bearer import CallerAuthenticator
from shared.clients.acs import AcsClient
from shared.clients.credential import build_credential
from shared.clients.tables import CONNECT_TIMEOUT as TABLE_CONNECT_TIMEOUT
from shared.clients.tables import READ_TIMEOUT as TABLE_READ_TIMEOUT
from shared.clients.tables import LazyTable, build_service_client
from shared.clients.telemetry import configure_telemetry
from shared.clients.token_cache import SingleFlightCredential
from shared.clients.transport import build_transport, ca_bundle
from shared.config.settings import Settings
from shared.identity.lifecycle import IdentityLifecycle
from shared.identity.map import TableIdentityMap
from shared.identity.recent import RecentIdentities
from shared.identity.tokens import TokenService

if TYPE_CHECKING:
    from shared.sms.service import SmsService

logger = logging.getLogger(__name__)

# azure-core logs every request's (redacted) headers at INFO: one Table or ACS call would
# add a dozen lines per invocation to Application Insights. Its warnings still come through.
_QUIET_LOGGERS = ("azure.core.pipeline.policies.http_logging_policy",)


class Services:
    """Everything a function needs, built once per worker process.

    The SMS service is built on first use: a worker that only issues tokens never imports the
    SMS modules or phonenumbers (a cold-start cost). One transport (one pool of keep-alive
    connections) and one single-flight credential serve every client.
    """

    def __init__(self, settings: Settings, *,
                 transport: HttpTransport[Any, Any] | None = None) -> None:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self.settings = settings
        self.credential: TokenCredential = SingleFlightCredential(
            build_credential(settings.azure_client_id))
        configure_telemetry(self.credential)
        # Table calls set no time-outs of their own (the Tables SDK applies a client's only to
        # a transport it builds itself); every ACS call sets its own. So the shared transport's
        # defaults are the Table calls' time-outs.
        self.transport = transport or build_transport(
            connection_timeout=TABLE_CONNECT_TIMEOUT, read_timeout=TABLE_READ_TIMEOUT,
            fan_out=settings.sms_send_concurrency)
        self.acs = AcsClient(settings.acs_endpoint, self.credential,
                             retry_seconds=settings.acs_retry_seconds, transport=self.transport)
        self.tables = build_service_client(settings.table_endpoint, self.credential,
                                           transport=self.transport)
        self.authenticator = CallerAuthenticator(
            settings.auth_issuer, settings.auth_audiences, ssl_context=_ssl_context(),
            required_scope=settings.auth_required_scope,
        )
        self.identities = TableIdentityMap(
            LazyTable(self.tables, settings.identity_table_name))
        self.recent_identities = RecentIdentities(settings.identity_cache_seconds)
        self.tokens = TokenService(self.acs, self.identities, self.recent_identities)
        self.lifecycle = IdentityLifecycle(self.acs, self.identities, settings.auth_issuer,
                                           self.recent_identities)
        self._sms: SmsService | None = None
        self._sms_lock = threading.Lock()

    @classmethod
    def build(cls, settings: Settings) -> Services:
        return cls(settings)

    @property
    def sms(self) -> SmsService:
        if self._sms is None:
            with self._sms_lock:
                if self._sms is None:
                    self._sms = self._build_sms()
        return self._sms

    def _build_sms(self) -> SmsService:
        from shared.sms.client import SmsClient
        from shared.sms.service import SmsService
        from shared.sms.store import TableIdempotencyStore

        table = LazyTable(self.tables, self.settings.idempotency_table_name)
        return SmsService(self.settings.sms_from, SmsClient(self.acs),
                          TableIdempotencyStore(table),
                          allowed_regions=self.settings.sms_allowed_regions,
                          concurrency=self.settings.sms_send_concurrency)


def _ssl_context() -> ssl.SSLContext:
    # Honour the same CA bundle override azure-core's transport honours (a local CA in dev).
    return ssl.create_default_context(cafile=ca_bundle(os.environ))


_lock = threading.Lock()
_services: Services | None = None


def get_services() -> Services:
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                _services = Services.build(Settings.from_env())
                # What is alive now lives as long as the process: keep it out of every later
                # garbage collection, so none of them walks the imported modules and clients.
                gc.freeze()
    return _services


def use_services(services: Services | None) -> None:
    """Install (or with None, forget) the process's services; for tests and benchmarks."""
    global _services
    with _lock:
        _services = services
