"""The ACS data-plane client: one azure-core pipeline, bearer auth, bounded retries, typed errors.

Policies in order: request id, user agent, bounded retry (honours Retry-After), bearer token
(managed identity, cached and refreshed by azure-core), tracing, redacted HTTP logging, and
last the record of whether any try may have reached ACS (`shared.acs_reach`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    DistributedTracingPolicy,
    HttpLoggingPolicy,
    RequestIdPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse

from shared.acs_reach import Reach, ReachPolicy
from shared.errors import IdentityGone, UpstreamError, UpstreamUnavailable

logger = logging.getLogger(__name__)

ACS_SCOPE = "https://communication.azure.com//.default"
IDENTITY_API_VERSION = "2023-10-01"
DEFAULT_RETRY_AFTER = 5
# Per attempt; the retry policy bounds the total.
CONNECT_TIMEOUT, READ_TIMEOUT = 5, 15


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_on: str


@dataclass(frozen=True)
class CreatedIdentity:
    id: str
    access_token: AccessToken | None


class BoundedRetryPolicy(RetryPolicy[Any, Any]):
    """azure-core's retry, never sleeping past a total deadline.

    A Retry-After (or backoff) that would end beyond the deadline stops retrying at once, so
    the caller can pass the server's Retry-After on instead of timing out inside a function.
    A request sent with `acs_idempotent=False` is retried only on answers saying ACS did not
    act on it (429, 503), never on one whose outcome is unknown (500, 502, 504), even when
    that answer carries a Retry-After.
    """

    def __init__(self, *, budget_seconds: float, **kwargs: Any) -> None:
        # azure-core's own `timeout` also clamps each attempt's connect timeout to what is
        # left of it, so it must leave room for a whole attempt after the retry budget.
        super().__init__(timeout=budget_seconds + CONNECT_TIMEOUT + READ_TIMEOUT, **kwargs)
        self.budget_seconds = budget_seconds

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        request.context["acs_deadline"] = time.monotonic() + self.budget_seconds
        request.context["acs_idempotent"] = request.context.options.pop("acs_idempotent", True)
        return super().send(request)

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        if not super().is_retry(settings, response):
            return False
        status = response.http_response.status_code
        if not response.context["acs_idempotent"] and status not in (429, 503):
            return False
        wait = self.get_retry_after(response)
        if wait is None:
            wait = self.get_backoff_time(settings)
        return time.monotonic() + wait < float(response.context["acs_deadline"])


class AcsClient:
    """Identity operations of ACS (and the raw `send` the SMS client builds on)."""

    def __init__(
        self,
        endpoint: str,
        credential: TokenCredential,
        *,
        retry_seconds: float = 20.0,
        transport: HttpTransport[Any, Any] | None = None,
    ) -> None:
        policies = [
            RequestIdPolicy(),
            UserAgentPolicy(sdk_moniker="acs-trusted-access/0.1"),
            BoundedRetryPolicy(
                budget_seconds=retry_seconds,
                retry_total=4,
                retry_backoff_factor=0.4,
                retry_backoff_max=4,
            ),
            BearerTokenCredentialPolicy(credential, ACS_SCOPE),
            DistributedTracingPolicy(),
            HttpLoggingPolicy(),
            ReachPolicy(),
        ]
        self.endpoint = endpoint.rstrip("/")
        self._client: PipelineClient[HttpRequest, HttpResponse] = PipelineClient(
            self.endpoint, policies=policies, transport=transport
        )

    def send(
        self,
        method: str,
        path: str,
        *,
        api_version: str,
        body: Any = None,
        idempotent: bool = True,
        reach: Reach | None = None,
    ) -> HttpResponse:
        """Send one request; transport and credential failures become typed errors.

        A request that is not `idempotent` is not retried when its outcome is unknown
        (connection lost after sending, 500, 502, 504). `reach`, when given, learns whether
        any try of this request (and of other sends given the same one) may have reached ACS.
        """
        request = HttpRequest(
            method,
            f"{self.endpoint}{path}",
            params={"api-version": api_version},
            json=body,
            headers={"Accept": "application/json"},
        )
        methods = ["GET", "PUT", "DELETE", "HEAD", "OPTIONS"]
        if idempotent:
            methods.append("POST")
        options: dict[str, Any] = {"acs_reach": reach} if reach is not None else {}
        try:
            return self._client.send_request(
                request,
                retry_on_methods=methods,
                connection_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT,
                acs_idempotent=idempotent,
                **options,
            )
        except ClientAuthenticationError as exc:
            logger.error("Could not get a managed identity token for ACS: %s", type(exc).__name__)
            raise UpstreamUnavailable(
                "The service could not authenticate to Azure Communication Services.",
                retry_after=DEFAULT_RETRY_AFTER,
            ) from exc
        except AzureError as exc:
            logger.error("ACS request failed before a response: %s", type(exc).__name__)
            raise UpstreamUnavailable(
                "Azure Communication Services could not be reached.",
                retry_after=DEFAULT_RETRY_AFTER,
            ) from exc

    def _call(self, operation: str, method: str, path: str, *, body: Any = None,
              expect: int, idempotent: bool = True) -> Any:
        response = self.send(method, path, api_version=IDENTITY_API_VERSION, body=body,
                             idempotent=idempotent)
        if response.status_code != expect:
            raise error_from_response(operation, response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            logger.error("ACS %s answered %s with a body that is not JSON", operation, expect)
            raise UpstreamError("Azure Communication Services answered unexpectedly.") from exc

    def create_identity(
        self, *, scopes: Sequence[str] = (), expires_in_minutes: int | None = None
    ) -> CreatedIdentity:
        body: dict[str, Any] = {}
        if scopes:
            body["createTokenWithScopes"] = list(scopes)
            if expires_in_minutes is not None:
                body["expiresInMinutes"] = expires_in_minutes
        # A lost response could mean an identity was created that nobody maps: such an
        # outcome is not retried, which keeps that window to one attempt.
        data = self._call("identity.create", "POST", "/identities", body=body, expect=201,
                          idempotent=False)
        identity = data.get("identity") if isinstance(data, dict) else None
        token = data.get("accessToken") if isinstance(data, dict) else None
        return CreatedIdentity(
            id=_string(identity.get("id") if isinstance(identity, dict) else None, "identity.id"),
            access_token=_access_token(token) if token else None,
        )

    def issue_token(
        self, identity_id: str, scopes: Sequence[str], expires_in_minutes: int
    ) -> AccessToken:
        data = self._call(
            "identity.issueToken", "POST", f"/identities/{_quote(identity_id)}/:issueAccessToken",
            body={"scopes": list(scopes), "expiresInMinutes": expires_in_minutes}, expect=200,
        )
        return _access_token(data)

    def revoke_tokens(self, identity_id: str) -> None:
        self._call("identity.revokeTokens", "POST",
                   f"/identities/{_quote(identity_id)}/:revokeAccessTokens", expect=204)

    def delete_identity(self, identity_id: str) -> None:
        self._call("identity.delete", "DELETE", f"/identities/{_quote(identity_id)}", expect=204)


def error_from_response(operation: str, response: HttpResponse) -> Exception:
    """Map an unexpected ACS answer to a typed error; ACS's own message is only logged."""
    status = response.status_code
    code = _error_code(response)
    logger.warning("ACS %s answered %s (%s)", operation, status, code or "no error code")
    if code == "IdentityNotOwned" or (status == 404 and operation.startswith("identity.")):
        return IdentityGone("The ACS identity no longer exists.")
    if status == 429 or status >= 500:
        retry_after = _retry_after(response)
        return UpstreamUnavailable(
            "Azure Communication Services is busy or unavailable.", retry_after=retry_after
        )
    if status in (401, 403):
        logger.error(
            "ACS refused the service's credential for %s: check the managed identity's role "
            "assignment on the Communication Services resource", operation,
        )
    return UpstreamError("Azure Communication Services refused the request.")


def _error_code(response: HttpResponse) -> str | None:
    try:
        error = json.loads(response.text()).get("error") or {}
    except (ValueError, AttributeError):
        return None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _retry_after(response: HttpResponse) -> int:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(1, min(int(float(raw)), 3600))
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _quote(identity_id: str) -> str:
    return quote(identity_id, safe=":")


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise UpstreamError(f"Azure Communication Services answered without {name}.")
    return value


def _access_token(data: Any) -> AccessToken:
    if not isinstance(data, dict):
        raise UpstreamError("Azure Communication Services answered without a token.")
    return AccessToken(
        token=_string(data.get("token"), "token"),
        expires_on=_string(data.get("expiresOn"), "expiresOn"),
    )
