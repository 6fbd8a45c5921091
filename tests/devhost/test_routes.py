"""Route templates: constraints, optional and catch-all parameters, precedence."""

from __future__ import annotations

import pytest

from devhost.app import AppError
from devhost.routes import Route


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


def test_route_literal_precedes_parameter_sorted_first() -> None:
    routes = sorted([Route("items/{id}"), Route("items/new")], key=lambda r: r.precedence)

    assert [r.template for r in routes] == ["items/new", "items/{id}"]


def test_route_lifecycle_literal_me_wins_over_identity_id_parameter() -> None:
    routes = sorted([Route("identities/{communicationUserId}"), Route("identities/me"),
                     Route("identities")], key=lambda r: r.precedence)

    matching = [r.template for r in routes if r.match("/identities/me") is not None]

    assert matching == ["identities/me", "identities/{communicationUserId}"]
    assert [r.template for r in routes if r.match("/identities/8:acs:x") is not None] == [
        "identities/{communicationUserId}"]


def test_route_unknown_constraint_rejected_app_error() -> None:
    with pytest.raises(AppError, match="unsupported constraint"):
        Route("items/{id:nonsense}")
