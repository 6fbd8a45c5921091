"""The unauthenticated, loopback-only admin API tests use to inspect and steer the emulator:
outbox, identities, counters, reset, faults, role assignments and token checks."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from emulator import identity, managed_identity, oidc
from emulator.context import Context
from emulator.state import OPERATIONS, RECIPIENT_FAULT, Fault
from emulator.web import Request, Response, bad_request, expect_type, route

logger = logging.getLogger(__name__)

MAX_LATENCY_MS = 60_000


def outbox(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    with ctx.state.lock:
        return Response(200, [dict(entry) for entry in ctx.state.outbox])


def identities(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    with ctx.state.lock:
        return Response(200, [record.public() for record in ctx.state.identities.values()])


def counters(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    return Response(200, ctx.state.counter_view())


def reset(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    ctx.state.reset()
    return Response(204)


def _int(body: dict[str, Any], name: str, low: int, high: int, default: int | None
         ) -> int | None:
    value = body.get(name, default)
    if value is None:
        return None
    number: int = expect_type(value, int, name)
    if not low <= number <= high:
        raise bad_request(f"'{name}' must be within [{low}, {high}].", "ValidationError")
    return number


def add_fault(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    body = request.json_object()
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise bad_request(f"Unknown operation {operation!r}; known: {sorted(OPERATIONS)}.",
                          "ValidationError")
    status = _int(body, "status", 100, 599, None)
    if status is None:
        raise bad_request("'status' is required.", "ValidationError")
    remaining = _int(body, "count", 1, 1_000_000, 1) or 1
    if operation == RECIPIENT_FAULT:
        fault = _recipient_fault(body, status, remaining)
    elif "to" in body:
        raise bad_request(f"'to' applies to {RECIPIENT_FAULT} faults only.", "ValidationError")
    else:
        fault = Fault(
            status=status,
            remaining=remaining,
            retry_after=_int(body, "retryAfter", 0, 86_400, None),
            latency_ms=_int(body, "latencyMs", 0, MAX_LATENCY_MS, 0) or 0,
            after_handling=expect_type(body.get("afterHandling", False), bool, "afterHandling"),
        )
    ctx.state.add_fault(operation, fault)
    return Response(204)


def _recipient_fault(body: dict[str, Any], status: int, remaining: int) -> Fault:
    """A failed item inside a 202: it has a status only, no headers and no latency of its own."""
    if not 400 <= status <= 599:
        raise bad_request(f"A {RECIPIENT_FAULT} fault needs a 'status' within [400, 599].",
                          "ValidationError")
    for name in ("retryAfter", "latencyMs", "afterHandling"):
        if name in body:
            raise bad_request(f"'{name}' does not apply to {RECIPIENT_FAULT} faults.",
                              "ValidationError")
    to = body.get("to")
    if to is not None and (not isinstance(to, str) or not to):
        raise bad_request("'to' must be a non-empty string.", "ValidationError")
    return Fault(status=status, remaining=remaining, to=to)


def list_faults(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    with ctx.state.lock:
        return Response(200, {op: [_fault_view(op, fault) for fault in queue]
                              for op, queue in ctx.state.faults.items() if queue})


def _fault_view(operation: str, fault: Fault) -> dict[str, Any]:
    if operation == RECIPIENT_FAULT:
        return {"status": fault.status, "remaining": fault.remaining, "to": fault.to}
    return {"status": fault.status, "remaining": fault.remaining,
            "retryAfter": fault.retry_after, "latencyMs": fault.latency_ms,
            "afterHandling": fault.after_handling}


def _client_id(request: Request) -> str:
    client_id = request.json_object().get("clientId")
    if not isinstance(client_id, str) or not client_id:
        raise bad_request("'clientId' is required.", "ValidationError")
    return client_id


def _assignment_view(ctx: Context) -> dict[str, Any]:
    with ctx.state.lock:
        return {"systemAssigned": ctx.resource.system_client_id,
                "clientIds": sorted(ctx.state.assignments)}


def get_assignments(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    return Response(200, _assignment_view(ctx))


def add_assignment(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    client_id = _client_id(request)
    with ctx.state.lock:
        ctx.state.assignments.add(client_id)
    return Response(200, _assignment_view(ctx))


def remove_assignment(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    client_id = _client_id(request)
    with ctx.state.lock:
        ctx.state.assignments.discard(client_id)
    return Response(200, _assignment_view(ctx))


def verify_token(ctx: Context, request: Request, params: Mapping[str, str]) -> Response:
    token = request.json_object().get("token")
    if not isinstance(token, str):
        raise bad_request("'token' is required.", "ValidationError")
    valid, reason = identity.verify_user_token(ctx, token)
    return Response(200, {"valid": True} if valid else {"valid": False, "reason": reason})


ROUTES = [
    route("GET", "/admin/sms", outbox),
    route("GET", "/admin/identities", identities),
    route("GET", "/admin/counters", counters),
    route("POST", "/admin/reset", reset),
    route("POST", "/admin/faults", add_fault),
    route("GET", "/admin/faults", list_faults),
    route("GET", "/admin/assignments", get_assignments),
    route("POST", "/admin/assignments", add_assignment),
    route("DELETE", "/admin/assignments", remove_assignment),
    route("POST", "/admin/tokens/verify", verify_token),
    *managed_identity.ADMIN_ROUTES,
    *oidc.ADMIN_ROUTES,
]
