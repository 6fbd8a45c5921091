"""The HTTP edge: one decorator turns a handler into a Functions entry point.

It parses JSON (size-limited, strict), authenticates on request, maps typed errors to RFC 9457
problem+json, sets no-store and nosniff headers, and logs one line per request with no secrets.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func

from shared.auth.caller import Caller
from shared.config.settings import ConfigurationError
from shared.edge.strict_json import NotStrictJson, parse_json
from shared.errors import (
    MissingToken,
    PayloadTooLarge,
    ServiceError,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationError,
)
from shared.services import Services, get_services

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
PROBLEM_TYPE = "urn:acs-trusted-access:problem:"
_BASE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class ApiRequest:
    """What a handler sees: the request, the process's services, and parsing helpers."""

    def __init__(self, request: func.HttpRequest, services: Services) -> None:
        self.raw = request
        self.services = services

    def header(self, name: str) -> str | None:
        value = self.raw.headers.get(name)
        return value if value is None else str(value)

    def caller(self, *, role: str | None = None) -> Caller:
        """The authenticated caller; with `role`, one whose token carries that app role."""
        caller = self.services.authenticator.authenticate(self.header("Authorization"),
                                                          role=role)
        if role is not None:
            caller.require_role(role)
        return caller

    def admin(self) -> Caller:
        """An authenticated caller holding the identity admin role (401, then 403)."""
        return self.caller(role=self.services.settings.identity_admin_role)

    def route(self, name: str) -> str | None:
        value = self.raw.route_params.get(name)
        return value if value is None else str(value)

    def json(self, *, required: bool) -> Any:
        body = self.raw.get_body() or b""
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
        if not body.strip():
            if required:
                raise ValidationError("A JSON body is required.")
            return None
        media_type = (self.header("Content-Type") or "").split(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise UnsupportedMediaType("Send the body as application/json.")
        try:
            value = parse_json(body)
        except NotStrictJson as exc:
            raise ValidationError("The body is not valid JSON.") from exc
        if value is None:
            # Every body here is an object; `null` is not "no body" (send none instead).
            raise ValidationError("The body must be a JSON object.")
        return value


def problem(error: ServiceError) -> func.HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    if error.errors:
        body["errors"] = [e.to_json() for e in error.errors]
    headers = dict(_BASE_HEADERS)
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, MissingToken):
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return func.HttpResponse(
        json.dumps(body), status_code=error.status, headers=headers,
        mimetype="application/problem+json", charset="utf-8",
    )


def _internal_error() -> func.HttpResponse:
    return problem(ServiceError("The request could not be completed."))


ApiHandler = Callable[[ApiRequest], ApiResponse]


def endpoint(handler: ApiHandler) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """Wrap `handler(ApiRequest) -> ApiResponse` as `main(req) -> HttpResponse`.

    The wrapper keeps the exact signature the Python worker binds by name (`req`), so it does
    not use functools.wraps: the worker would follow `__wrapped__` to the handler's signature.
    """

    def main(req: func.HttpRequest) -> func.HttpResponse:
        started = time.perf_counter()
        try:
            result = handler(ApiRequest(req, get_services()))
            # No Content: no body and no media type (the Python worker still labels every
            # response without one `text/plain; charset=utf-8`; there is no way to send none).
            if result.status == 204:
                response = func.HttpResponse(
                    status_code=204, headers={**_BASE_HEADERS, **result.headers}
                )
            else:
                response = func.HttpResponse(
                    json.dumps(result.body), status_code=result.status,
                    headers={**_BASE_HEADERS, **result.headers},
                    mimetype="application/json", charset="utf-8",
                )
        except ServiceError as error:
            response = problem(error)
        except ConfigurationError as error:
            logger.error("%s", error)  # names the settings, never their values
            response = _internal_error()
        except Exception:
            logger.exception("Unhandled error in %s", handler.__module__)
            response = _internal_error()
        logger.info(
            "%s %s -> %d in %.1f ms", req.method, _path(req.url), response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    main.__name__ = main.__qualname__ = "main"
    main.__doc__ = handler.__doc__
    main.__module__ = handler.__module__
    return main


def _path(url: str) -> str:
    # The query string may carry a function key; only the path is logged.
    return urlsplit(url).path
