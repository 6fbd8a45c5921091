"""Table Storage clients: managed identity against an endpoint, or Azurite's development account.

Clients are built once per process; each table is created on first use, once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from azure.core.credentials import AzureNamedKeyCredential, TokenCredential
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.data.tables import TableClient, TableServiceClient

from shared.clients.dependency import (
    CREDENTIAL_REFUSED,
    RETRY_AFTER_SECONDS,
    SERVER_ERRORS,
    THROTTLED,
    Cooldown,
    Mapped,
    StatusMap,
)
from shared.config.key_refusal import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    carries_key,
    development_endpoints,
)
from shared.config.settings import ConfigurationError
from shared.errors import UpstreamError, UpstreamUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")
_UNAVAILABLE = "Storage is unavailable."
# Other statuses (404, 409, 412) are outcomes the callers handle themselves.
_STORAGE_ERRORS = StatusMap("Table Storage", [
    (THROTTLED, Mapped(UpstreamUnavailable, _UNAVAILABLE)),
    (SERVER_ERRORS, Mapped(UpstreamUnavailable, _UNAVAILABLE)),
    (CREDENTIAL_REFUSED, Mapped(
        UpstreamError, "Storage refused the request.",
        hint="check the managed identity's Storage Table Data Contributor role",
    )),
])
# Table calls sit on the request path: fail fast and let the caller retry on 503.
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 5.0  # seconds, per attempt
_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "retry_backoff_factor": 0.2,
    "retry_backoff_max": 1,
    # These configure a transport the client builds itself only: on a shared transport they
    # are dropped silently, so the service builds its shared one with them (services.py).
    "connection_timeout": CONNECT_TIMEOUT,
    "read_timeout": READ_TIMEOUT,
}


def build_service_client(target: str, credential: TokenCredential, *,
                         transport: HttpTransport[Any, Any] | None = None) -> TableServiceClient:
    """`target` is an https endpoint (managed identity) or Azurite's development connection.

    The shared key is only ever built for Azurite's public account on a loopback endpoint,
    checked here again rather than trusted from the settings.
    """
    options = {**_CLIENT_OPTIONS, "transport": transport}
    if "=" in target or carries_key(target):
        endpoints = development_endpoints(target)
        if endpoints is None or "table" not in endpoints:
            raise ConfigurationError(
                "IDENTITY_TABLE_ENDPOINT: a shared key is accepted only for the Azurite "
                "development account on loopback"
            )
        return TableServiceClient(
            endpoint=endpoints["table"],
            credential=AzureNamedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
            **options,
        )
    return TableServiceClient(endpoint=target, credential=credential, **options)


def table_missing(exc: HttpResponseError) -> bool:
    """Whether a 404 is about the table itself rather than an entity in it."""
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code)) == "TableNotFound" or "TableNotFound" in str(exc)


class LazyTable:
    """One table client; the table is created when an operation finds it missing.

    Tables normally exist (the deployment creates them), so no call pays a create round trip
    up front: only a `TableNotFound` answer creates the table and repeats the operation. A role
    scoped to existing tables may not create one: a 403 on create is logged and the table is
    assumed to exist. After a failed create, calls answer 503 at once for a few seconds
    instead of each waiting for its own time-out.
    """

    def __init__(self, service: TableServiceClient, name: str) -> None:
        self.name = name
        self.client: TableClient = service.get_table_client(name)
        self._ready = True
        self._lock = threading.Lock()
        self._outage = Cooldown(_UNAVAILABLE)

    def _ensure(self) -> None:
        if not self._ready:
            with self._lock:
                self._create_once()

    def _create_once(self) -> None:
        if self._ready:  # another thread did it while this one waited for the lock
            return
        self._outage.check()
        try:
            with suppress(ResourceExistsError):
                self.client.create_table()
        except HttpResponseError as exc:
            if exc.status_code != 403:
                raise
            logger.warning("Not allowed to create table %s; assuming it exists", self.name)
        except AzureError:
            self._outage.trip()
            raise
        self._ready = True

    def call(self, operation: Callable[[TableClient], T]) -> T:
        with unavailable_on_storage_errors(self.name):
            self._ensure()
            try:
                return operation(self.client)
            except ResourceNotFoundError as exc:
                if not table_missing(exc):
                    raise
                logger.warning("Table %s does not exist; creating it", self.name)
                self._ready = False
                self._ensure()
                return operation(self.client)


@contextmanager
def unavailable_on_storage_errors(table: str) -> Iterator[None]:
    """Storage outages and throttling become 503; specific outcomes are handled by callers."""
    try:
        yield
    except HttpResponseError as exc:
        error = _STORAGE_ERRORS.error_for(exc.status_code or 0)
        if error is None:
            raise
        logger.error("Table %s answered %s", table, exc.status_code)
        raise error from exc
    except AzureError as exc:
        logger.error("Table %s could not be reached: %s", table, type(exc).__name__)
        raise UpstreamUnavailable(_UNAVAILABLE, retry_after=RETRY_AFTER_SECONDS) from exc
