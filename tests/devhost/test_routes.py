"""Route templates: constraints, optional and catch-all parameters, the lifecycle routes."""

from __future__ import annotations

import json

import pytest

from devhost.app import AppError
from devhost.routes import Route
from devhost.services import REPO_ROOT


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("items/{id:int}", "/items/12", {"id": "12"}),
        ("items/{id:int}", "/items/x", None),
        ("items/{id:guid}", "/items/0f8fad5b-d9cb-469f-a165-70867728950e",
         {"id": "0f8fad5b-d9cb-469f-a165-70867728950e"}),
        ("items/{flag:bool}", "/items/TRUE", {"flag": "TRUE"}),
        ("items/{name:alpha:maxlength(3)}", "/items/abc", {"name": "abc"}),
        ("items/{name:alpha:maxlength(3)}", "/items/abcd", None),
        ("items/{n:range(1,5)}", "/items/6", None),
        ("items/{name?}", "/items", {}),
        ("files/{*path}", "/files/a/b/c.txt", {"path": "a/b/c.txt"}),
        ("files/{name}.{ext}", "/files/report.pdf", {"name": "report", "ext": "pdf"}),
        ("users/{id}", "/Users/a%20b/", {"id": "a b"}),
        # ACS identity ids hold colons: raw (RFC 3986 allows them in a segment) or encoded.
        ("identities/{id}", "/identities/8:acs:r_1", {"id": "8:acs:r_1"}),
        ("identities/{id}", "/identities/8%3Aacs%3Ar_1", {"id": "8:acs:r_1"}),
        # As in ASP.NET Core, an encoded slash stays encoded in the value; %25 decodes once.
        ("users/{key}/identity", "/users/sub%3Aa%2Fb/identity", {"key": "sub:a%2Fb"}),
        ("users/{key}/identity", "/users/sub%3Aa%252Fb/identity", {"key": "sub:a%2Fb"}),
        ("users/{key}/identity", "/users/sub:a/b/identity", None),
        ("", "", {}),
    ],
)
def test_route_match_template_gives_expected_params(
    template: str, path: str, expected: dict[str, str] | None
) -> None:
    assert Route(template).match(path) == expected


def test_route_lifecycle_lookup_constraint_never_matches_me() -> None:
    # The host tries routes by function name (IdentityLookup before MyIdentity), with no
    # literal-first precedence: only the constraint keeps the lookup off `identities/me`.
    lookup = Route(_route_of("IdentityLookup"))

    assert lookup.match("/identities/me") is None
    assert lookup.match("/identities/8:acs:x") == {"communicationUserId": "8:acs:x"}
    assert Route(_route_of("MyIdentity")).match("/identities/me") == {}


def test_route_lookup_without_constraint_would_shadow_me() -> None:
    assert Route("identities/{communicationUserId}").match("/identities/me") is not None


def _route_of(function: str) -> str:
    bindings = json.loads((REPO_ROOT / function / "function.json").read_text())["bindings"]
    return str(next(b for b in bindings if b["type"] == "httpTrigger")["route"])


def test_route_unknown_constraint_rejected_app_error() -> None:
    with pytest.raises(AppError, match="unsupported constraint"):
        Route("items/{id:nonsense}")
