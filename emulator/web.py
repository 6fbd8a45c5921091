"""The emulator's tiny HTTP vocabulary: request, response, route, and the ACS error envelope
that every failure is turned into."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.context import Context

logger = logging.getLogger(__name__)


class AcsError(Exception):
    """A refusal in ACS style: `{"error": {"code", "message"}}` unless `body` replaces it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.body = body

    def envelope(self) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        return {"error": {"code": self.code, "message": self.message}}


def status_code_name(status: int) -> str:
    """`TooManyRequests` for 429: the code word ACS puts in envelopes for plain HTTP failures."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return f"Status{status}"
    return "".join(word.capitalize() for word in re.split(r"[^A-Za-z]+", phrase) if word)


def bad_request(message: str, code: str = "BadRequest") -> AcsError:
    return AcsError(400, code, message)


def validation_problem(field_name: str, message: str) -> AcsError:
    """An SMS request-level 400. ACS answers these as ASP.NET validation problems (see the
    2026-01-23 examples); the `error` envelope is added so every emulator error has one shape."""
    body = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": {field_name: [message]},
        "traceId": trace_id(),
        "error": {"code": "ValidationError", "message": message},
    }
    return AcsError(400, "ValidationError", message, body=body)


def trace_id() -> str:
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # the raw request-target (path and query) exactly as sent: what HMAC signs
    path: str  # percent-decoded path, used for routing
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    principal: Any = None  # the caller the server authenticated, on user-token routes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def authorization(self, missing: AcsError) -> tuple[str, str]:
        """The Authorization header's scheme and credentials (stripped); `missing` without one."""
        value = self.header("authorization")
        if not value:
            raise missing
        scheme, _, credentials = value.partition(" ")
        return scheme, credentials.strip()

    def json(self, *, allow_empty: bool = False) -> Any:
        """The JSON body; an empty body is None when allowed. Malformed JSON is a 400."""
        if not self.body.strip():
            if allow_empty:
                return None
            raise bad_request("The request body is required.", "InvalidRequestBody")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise bad_request(f"The request body is not valid JSON: {error}.",
                              "InvalidRequestBody") from None

    def json_object(self, *, allow_empty: bool = False) -> dict[str, Any]:
        value = self.json(allow_empty=allow_empty)
        if value is None and allow_empty:
            return {}
        if not isinstance(value, dict):
            raise bad_request("The request body must be a JSON object.", "InvalidRequestBody")
        return value


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable; None means no body
    headers: dict[str, str] = field(default_factory=dict)


RouteHandler = Callable[["Context", Request, Mapping[str, str]], Response]


@dataclass(frozen=True)
class Route:
    """One method + path. `operation` names it for counters and faults; `api_versions`
    set means an ACS data-plane route: authenticated and api-version checked; `user_token`
    routes (Chat) take ACS user access tokens instead of the resource's credentials."""

    method: str
    pattern: re.Pattern[str]
    handler: RouteHandler
    operation: str | None = None
    api_versions: frozenset[str] = frozenset()
    user_token: bool = False


def route(
    method: str,
    path: str,
    handler: RouteHandler,
    operation: str | None = None,
    api_versions: frozenset[str] = frozenset(),
    *,
    user_token: bool = False,
) -> Route:
    """`path` may hold `{name}` segments, matched up to the next slash."""
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return Route(method, re.compile(regex), handler, operation, api_versions, user_token)


def expect_type(value: Any, kind: type, name: str) -> Any:
    """Reject JSON values of the wrong type (a bool is not an int here, as in JSON Schema)."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise bad_request(f"'{name}' has the wrong type.", "ValidationError")
    return value
