"""The project's typed errors; the HTTP edge maps each to an RFC 9457 problem once.

    ServiceError
    ├── ValidationError        400  the request itself is wrong
    ├── PayloadTooLarge        413
    ├── UnsupportedMediaType   415
    ├── Unauthenticated        401  bad caller token
    │   └── MissingToken       401  no caller token
    ├── Forbidden              403  authenticated, not allowed
    ├── NotFound               404
    ├── Conflict               409  e.g. the same Idempotency-Key is in flight
    ├── UnprocessableContent   422  e.g. an Idempotency-Key reused for another request
    └── UpstreamError          502  a dependency answered something unusable
        └── UpstreamUnavailable 503  a dependency is down or throttling; Retry-After
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class FieldError:
    """One problem with one part of a request body, as a JSON Pointer into it."""

    pointer: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"pointer": self.pointer, "detail": self.detail}


class ServiceError(Exception):
    """Base of every error a caller may see. `detail` must be safe to show to the caller."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: tuple[FieldError, ...] = (),
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.retry_after = retry_after


class ValidationError(ServiceError):
    status = 400
    code = "validation-error"
    title = "The request is not valid"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload-too-large"
    title = "The request body is too large"


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported-media-type"
    title = "The request body must be application/json"


class Unauthenticated(ServiceError):
    status = 401
    code = "unauthenticated"
    title = "Authentication is required"


class MissingToken(Unauthenticated):
    """No credentials at all: the challenge then carries no error code (RFC 6750 3.1)."""


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"
    title = "The caller is not allowed to do this"


class NotFound(ServiceError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"
    title = "The request conflicts with one in progress"


class UnprocessableContent(ServiceError):
    status = 422
    code = "unprocessable-content"
    title = "The request cannot be processed as sent"


class UpstreamError(ServiceError):
    status = 502
    code = "upstream-error"
    title = "A dependency answered unexpectedly"


class UpstreamUnavailable(UpstreamError):
    status = 503
    code = "upstream-unavailable"
    title = "A dependency is unavailable; try again later"


class IdentityGone(ServiceError):
    """ACS no longer knows an identity the map points to (deleted, or of another resource).

    Internal: the token service recovers from it by mapping a new identity; if it ever
    escapes, it is a dependency failure.
    """

    status = 502
    code = "upstream-error"
    title = UpstreamError.title
