"""Table Storage clients: managed identity against an endpoint, or Azurite's development account.

Clients are built once per process; each table is created on first use, once.
"""

from __future__ import annotations

import logging
import threading
import time
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
from azure.data.tables import TableClient, TableServiceClient

from shared.errors import UpstreamError, UpstreamUnavailable
from shared.key_refusal import AZURITE_ACCOUNT, AZURITE_KEY, carries_key, development_endpoints
from shared.settings import ConfigurationError

logger = logging.getLogger(__name__)

T = TypeVar("T")
UNAVAILABLE_SECONDS = 5.0
# Table calls sit on the request path: fail fast and let the caller retry on 503.
_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "retry_backoff_factor": 0.2,
    "retry_backoff_max": 1,
    "connection_timeout": 3,
    "read_timeout": 5,
}


def build_service_client(target: str, credential: TokenCredential) -> TableServiceClient:
    """`target` is an https endpoint (managed identity) or Azurite's development connection.

    The shared key is only ever built for Azurite's public account on a loopback endpoint,
    checked here again rather than trusted from the settings.
    """
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
            **_CLIENT_OPTIONS,
        )
    return TableServiceClient(endpoint=target, credential=credential, **_CLIENT_OPTIONS)


def table_missing(exc: HttpResponseError) -> bool:
    """Whether a 404 is about the table itself rather than an entity in it."""
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code)) == "TableNotFound" or "TableNotFound" in str(exc)


class LazyTable:
    """One table client, the table created the first time it is used (and again if deleted).

    A role scoped to existing tables may not create one: a 403 on create is logged once and
    the table is assumed to exist. After a storage failure, calls answer 503 at once for a
    few seconds instead of each waiting for its own time-out.
    """

    def __init__(self, service: TableServiceClient, name: str) -> None:
        self.name = name
        self.client: TableClient = service.get_table_client(name)
        self._ready = False
        self._lock = threading.Lock()
        self._unavailable_until = 0.0

    def _ensure(self) -> None:
        if not self._ready:
            with self._lock:
                self._create_once()

    def _create_once(self) -> None:
        if self._ready:  # another thread did it while this one waited for the lock
            return
        if time.monotonic() < self._unavailable_until:
            raise UpstreamUnavailable("Storage is unavailable.", retry_after=5)
        try:
            with suppress(ResourceExistsError):
                self.client.create_table()
        except HttpResponseError as exc:
            if exc.status_code != 403:
                raise
            logger.warning("Not allowed to create table %s; assuming it exists", self.name)
        except AzureError:
            self._unavailable_until = time.monotonic() + UNAVAILABLE_SECONDS
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
                logger.warning("Table %s is gone; creating it again", self.name)
                self._ready = False
                self._ensure()
                return operation(self.client)


@contextmanager
def unavailable_on_storage_errors(table: str) -> Iterator[None]:
    """Storage outages and throttling become 503; specific outcomes are handled by callers."""
    try:
        yield
    except HttpResponseError as exc:
        if exc.status_code is not None and (exc.status_code >= 500 or exc.status_code == 429):
            logger.error("Table %s answered %s", table, exc.status_code)
            raise UpstreamUnavailable("Storage is unavailable.", retry_after=5) from exc
        if exc.status_code in (401, 403):
            logger.error("Table %s refused the service's credential: check the managed "
                         "identity's Storage Table Data Contributor role", table)
            raise UpstreamError("Storage refused the request.") from exc
        raise
    except AzureError as exc:
        logger.error("Table %s could not be reached: %s", table, type(exc).__name__)
        raise UpstreamUnavailable("Storage is unavailable.", retry_after=5) from exc
