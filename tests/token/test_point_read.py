"""The identity map's point read (`shared.clients.tables.read_entity`): one GET through the
Table client's own pipeline, no metadata asked for, giving what the SDK's `get_entity` gives.

Against Azurite for what a Table service answers, and against a scripted loopback endpoint for
the answers Azurite cannot be made to give (refusals, outages, broken bodies).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import DecodeError, HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient

from shared.clients.tables import (
    _PointReads,
    build_service_client,
    read_entity,
    table_missing,
    unavailable_on_storage_errors,
)
from shared.config.key_refusal import AZURITE_ACCOUNT
from shared.errors import UpstreamError
from tests.unit.wire import Received, WireServer, answer, table_connection

PARTITION = "p"
# Keys as a caller might make them: a quote (doubled in OData), spaces and non-ASCII.
ROW = "o'brien é 1"


class _NoToken:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise AssertionError("Azurite's development account signs with its shared key")


_NO_TOKEN = _NoToken()


class _PublicOnly:
    """A Table client seen through its public methods only: how the read behaves if a
    release of the SDK moves the pipeline it normally sends through."""

    def __init__(self, client: TableClient) -> None:
        self.table_name = client.table_name
        self.get_entity = client.get_entity


@pytest.fixture
def table(azurite: dict[str, str]) -> Iterator[TableClient]:
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])
    client = service.create_table(f"pointread{uuid.uuid4().hex[:12]}")
    client.create_entity({"PartitionKey": PARTITION, "RowKey": ROW, "Name": "Zoë",
                          "Count": 7, "Active": True})
    yield client
    service.delete_table(client.table_name)


@pytest.mark.parametrize("through", ["pipeline", "public"])
def test_reads_the_entity_and_its_etag_as_get_entity_does(table: TableClient,
                                                          through: str) -> None:
    client: Any = table if through == "pipeline" else _PublicOnly(table)

    found = read_entity(client, PARTITION, ROW)

    expected = table.get_entity(PARTITION, ROW)
    assert found is not None
    assert dict(found.properties) == {"Name": "Zoë", "Count": 7, "Active": True}
    assert found.etag == expected.metadata["etag"]


@pytest.mark.parametrize("through", ["pipeline", "public"])
def test_a_missing_entity_is_none(table: TableClient, through: str) -> None:
    client: Any = table if through == "pipeline" else _PublicOnly(table)

    assert read_entity(client, PARTITION, "nobody") is None
    assert read_entity(client, "other", ROW) is None


@pytest.mark.parametrize("through", ["pipeline", "public"])
def test_a_missing_table_is_the_error_lazy_table_handles(azurite: dict[str, str],
                                                         through: str) -> None:
    service = TableServiceClient.from_connection_string(azurite["AZURITE_CONNECTION_STRING"])
    missing = service.get_table_client(f"missing{uuid.uuid4().hex[:12]}")
    client: Any = missing if through == "pipeline" else _PublicOnly(missing)

    with pytest.raises(ResourceNotFoundError) as raised:
        read_entity(client, PARTITION, ROW)

    assert table_missing(raised.value)


# --- answers only a scripted endpoint gives ---------------------------------------------

def _client(servers: list[WireServer], reply: Any) -> tuple[TableClient, WireServer]:
    server = WireServer(reply)
    servers.append(server)
    # The shared key signs instead of a token.
    service = build_service_client(table_connection(server), _NO_TOKEN)
    return service.get_table_client("Identities"), server


def test_the_request_is_one_signed_get_asking_for_no_metadata(
        wire_servers: list[WireServer]) -> None:
    client, server = _client(wire_servers, lambda _: answer(
        200, b'{"PartitionKey": "p", "RowKey": "r", "Timestamp": "2026-01-01T00:00:00Z",'
             b' "Id": "8:acs:1"}', headers={"ETag": 'W/"1"'}))

    found = read_entity(client, PARTITION, ROW)

    assert found is not None and dict(found.properties) == {"Id": "8:acs:1"}
    assert found.etag == 'W/"1"'
    (seen,) = server.received
    assert seen.method == "GET"
    assert seen.target == (f"/{AZURITE_ACCOUNT}/Identities(PartitionKey='p',"
                           "RowKey='o%27%27brien%20%C3%A9%201')")
    assert seen.headers["accept"] == "application/json;odata=nometadata"
    assert seen.headers["x-ms-version"] == client.api_version
    assert seen.headers["authorization"].startswith(f"SharedKey {AZURITE_ACCOUNT}:")


def _page(status: int, body: bytes, content_type: str = "text/html") -> bytes:
    """An answer that is not Table Storage's: a proxy's or a wrong endpoint's page."""
    return (f"HTTP/1.1 {status} Status\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


@pytest.mark.parametrize(("reply", "outcome"), [
    (answer(404, b"", headers={"x-ms-error-code": "TableNotFound"}), "table"),
    (answer(404, b'{"odata.error": {"code": "TableNotFound", "message": {"value": "x"}}}'),
     "table"),
    (answer(404, b'{"odata.error": {"code": "ResourceNotFound"}}',
            headers={"x-ms-error-code": "ResourceNotFound"}), "none"),
    (answer(404, b"", headers={"x-ms-error-code": "ResourceNotFound"}), "none"),
    (answer(404, b'{"odata.error": {"code": "EntityNotFound"}}'), "none"),
    (_page(404, b"<html>Not Found</html>"), "error"),
    (_page(404, b"", content_type="text/plain"), "error"),
    (answer(404, b'{"odata.error": {"code": "SomethingElse"}}'), "error"),
], ids=["table-header", "table-body", "entity", "entity-no-body", "entity-code-in-body",
        "html-page", "empty-no-code", "other-code"])
def test_not_found_tells_a_missing_table_from_a_missing_entity_from_neither(
        wire_servers: list[WireServer], reply: bytes, outcome: str) -> None:
    """Only Table Storage's own "no such entity" is "unmapped": a proxy's 404 page must not
    make the service create (and then discard) an identity, or say a user has none."""
    client, _ = _client(wire_servers, lambda _: reply)

    if outcome == "table":
        with pytest.raises(ResourceNotFoundError) as raised:
            read_entity(client, PARTITION, ROW)
        assert table_missing(raised.value)
    elif outcome == "none":
        assert read_entity(client, PARTITION, ROW) is None
    else:
        with pytest.raises(HttpResponseError) as error:
            read_entity(client, PARTITION, ROW)
        assert error.value.status_code == 404 and not table_missing(error.value)


@pytest.mark.parametrize(("status", "tries"), [(403, 1), (400, 1), (503, 3)])
def test_failures_are_http_errors_with_their_status_after_the_sdk_retries(
        wire_servers: list[WireServer], status: int, tries: int) -> None:
    client, server = _client(wire_servers, lambda _: answer(status, b'{"odata.error": {}}'))

    with pytest.raises(HttpResponseError) as raised:
        read_entity(client, PARTITION, ROW)

    assert raised.value.status_code == status
    assert server.wait_received(tries) == tries  # the client's own retry policy ran


@pytest.mark.parametrize(("status", "mapped"), [(503, 503), (429, 503), (500, 503)])
def test_an_outage_with_an_unreadable_body_is_still_an_outage(
        wire_servers: list[WireServer], status: int, mapped: int) -> None:
    """The status decides first: a 503 whose body is cut short is 503 with Retry-After, not a
    bad gateway."""
    client, _ = _client(wire_servers, lambda _: answer(status, b'{"odata.err'))

    with pytest.raises(UpstreamError) as raised, unavailable_on_storage_errors("Identities"):
        read_entity(client, PARTITION, ROW)

    assert raised.value.status == mapped
    assert raised.value.retry_after is not None


def test_an_endpoint_without_etag_headers_is_read_through_the_sdk(
        wire_servers: list[WireServer], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Should an endpoint not name a point read's ETag in a header, the ETag is taken from the
    body, where the SDK's operation asks for it, for that read and every one after it."""
    monkeypatch.setattr(_PointReads, "etag_in_header", True)

    def reply(seen: Received) -> bytes:
        if "nometadata" in seen.headers.get("accept", ""):
            return answer(200, b'{"Id": "8:acs:1"}')
        return answer(200, b'{"odata.etag": "W/\\"7\\"", "PartitionKey": "p",'
                           b' "RowKey": "r", "Id": "8:acs:1"}')

    client, server = _client(wire_servers, reply)

    first = read_entity(client, PARTITION, ROW)
    second = read_entity(client, PARTITION, ROW)

    assert first == second
    assert first is not None and dict(first.properties) == {"Id": "8:acs:1"}
    assert first.etag == 'W/"7"'
    accepts = [seen.headers["accept"] for seen in server.received]
    assert accepts == ["application/json;odata=nometadata",
                       "application/json;odata=minimalmetadata",
                       "application/json;odata=minimalmetadata"]
    assert [r.getMessage() for r in caplog.records if "without an ETag" in r.getMessage()]


@pytest.mark.parametrize("reply", [
    answer(200, b"<html>", headers={"ETag": 'W/"1"'}),
    answer(200, b'["not", "an", "entity"]', headers={"ETag": 'W/"1"'}),
    answer(200, b'{"Id": "8:acs:1"}'),
    answer(404, b"<html>not found</html>"),
], ids=["not-json", "not-an-object", "no-etag-anywhere", "not-found-not-json"])
def test_an_unreadable_answer_is_a_bad_gateway_not_a_crash(
        wire_servers: list[WireServer], reply: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_PointReads, "etag_in_header", True)
    client, _ = _client(wire_servers, lambda _: reply)

    with pytest.raises(DecodeError):
        read_entity(client, PARTITION, ROW)
    with pytest.raises(UpstreamError) as raised, unavailable_on_storage_errors("Identities"):
        read_entity(client, PARTITION, ROW)

    assert raised.value.status == 502
    assert "html" not in raised.value.detail
