"""Table Storage clients: managed identity against an endpoint, or Azurite's development account.

Clients are built once per process; each table is created on first use, once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from azure.core.credentials import AzureNamedKeyCredential, TokenCredential
from azure.core.exceptions import (
    AzureError,
    DecodeError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse
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


@dataclass(frozen=True)
class StoredEntity:
    """An entity read by its keys: its own properties (not the keys or Timestamp) as JSON gives
    them, with no OData type annotations (a String or Boolean property reads as itself, a
    number as a JSON number, any other type as its string form), and its ETag."""

    properties: Mapping[str, Any]
    etag: str


# A point read asks for no metadata: the ETag comes in a header, and nothing else is needed.
_POINT_READ_HEADERS = {"Accept": "application/json;odata=nometadata", "DataServiceVersion": "3.0"}
_SYSTEM_PROPERTIES = frozenset({"PartitionKey", "RowKey", "Timestamp"})
# The codes of a 404 for an entity that is not there: any other 404 is not an answer about the
# entity (a proxy's page, a wrong endpoint) and is raised, as `get_entity` raises it.
_NO_SUCH_ENTITY = frozenset({"ResourceNotFound", "EntityNotFound"})


class _PointReads:
    """Whether the endpoint names the ETag of a point read in a header. Table Storage and
    Azurite do; should an endpoint not, its reads go through `get_entity` from then on,
    which finds the ETag in the body."""

    etag_in_header = True


def read_entity(client: TableClient, partition: str, row: str) -> StoredEntity | None:
    """One entity by its keys, or None if there is none; a missing table raises the
    `TableNotFound` error `LazyTable` handles, any other failure an `HttpResponseError`.

    The GET goes through the client's own pipeline (its credential, retries, logging and
    HTTP tracing policies) without the SDK's generated operation around it: building that
    request and deserializing every answer header and the entity's OData annotations cost
    about 0.2 ms of CPU per read, on the path of every token request that reads the map
    (measured side by side, bench/token_bench.py). The pipeline is the SDK's generated client
    (`TableClient._client`, with its public `send_request`); should a release move it, the
    read falls back on `get_entity`, which gives the same result.
    """
    generated = getattr(client, "_client", None)
    send = getattr(generated, "send_request", None)
    if not callable(send) or not _PointReads.etag_in_header:
        return _read_with_get_entity(client, partition, row)
    request = HttpRequest(
        "GET", f"/{quote(client.table_name)}(PartitionKey='{_key(partition)}',"
        f"RowKey='{_key(row)}')",
        headers={**_POINT_READ_HEADERS, "x-ms-version": client.api_version})
    response: HttpResponse = send(request)
    if response.status_code == 200:
        try:
            entity = response.json()
        except ValueError:
            entity = None
        if not isinstance(entity, dict):
            raise DecodeError(message="Table Storage answered an unreadable entity.",
                              response=response)
        etag = response.headers.get("ETag")
        if not etag:
            logger.warning("Table %s answered a point read without an ETag header; reading "
                           "through the SDK's operation from now on", client.table_name)
            _PointReads.etag_in_header = False
            return _read_with_get_entity(client, partition, row)
        return StoredEntity({name: value for name, value in entity.items()
                             if name not in _SYSTEM_PROPERTIES}, etag)
    if response.status_code == 404:
        code = _error_code(response)
        if code == "TableNotFound":
            raise ResourceNotFoundError(message="TableNotFound", response=response)
        if code in _NO_SUCH_ENTITY:
            return None
    response.raise_for_status()
    raise HttpResponseError(message=f"Table Storage answered {response.status_code}.",
                            response=response)


def _read_with_get_entity(client: TableClient, partition: str, row: str
                          ) -> StoredEntity | None:
    try:
        entity = client.get_entity(partition, row)
    except ResourceNotFoundError as exc:
        if table_missing(exc):
            raise
        return None
    etag = entity.metadata.get("etag")
    if not etag:
        raise DecodeError(message="Table Storage answered an entity without its ETag.")
    return StoredEntity({name: value for name, value in entity.items()
                         if name not in _SYSTEM_PROPERTIES}, str(etag))


def _key(value: str) -> str:
    # OData string literal (a quote doubled), then URL-encoded, as the SDK writes keys.
    return quote(value.replace("'", "''"), safe="")


def _error_code(response: HttpResponse) -> str | None:
    code = response.headers.get("x-ms-error-code")
    if code:
        return str(code)
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    error = body.get("odata.error") if isinstance(body, dict) else None
    found = error.get("code") if isinstance(error, dict) else None
    return found if isinstance(found, str) else None


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
        if error is None and isinstance(exc, DecodeError):
            # An answer that is not what Table Storage sends (a proxy's page, a cut-off body)
            # and whose status says nothing either.
            logger.error("Table %s answered %s with an unreadable body", table, exc.status_code)
            raise UpstreamError("Storage answered unexpectedly.") from exc
        if error is None:
            raise
        logger.error("Table %s answered %s", table, exc.status_code)
        raise error from exc
    except AzureError as exc:
        logger.error("Table %s could not be reached: %s", table, type(exc).__name__)
        raise UpstreamUnavailable(_UNAVAILABLE, retry_after=RETRY_AFTER_SECONDS) from exc
