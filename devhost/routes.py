"""HTTP trigger route templates (`items/{id:int}`, `files/{*path}`, `{name?}`) and matching.

Follows the ASP.NET Core route template syntax the Functions host uses: literals match
case-insensitively, `{name:constraint}` constrains, `?` makes a parameter optional,
`*` catches the rest of the path, and literal routes win over parameterised ones. Values
are percent-decoded except `%2F`, as ASP.NET Core leaves it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from devhost.app import AppError

logger = logging.getLogger(__name__)

_PARAM = re.compile(r"\{([^{}]+)\}")
_CONSTRAINT_PATTERNS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "bool": r"(?i:true|false)",
    "alpha": r"[A-Za-z]+",
    "guid": r"\{?[0-9A-Fa-f]{8}-?(?:[0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}\}?",
    "double": r"-?\d+(?:\.\d+)?",
    "float": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
    "datetime": r"[^/]+",
}
_NUMERIC = {"min", "max", "range", "length", "minlength", "maxlength"}
_ENCODED_SLASH = re.compile(r"(%2[Ff])")


def _route_value(raw: str) -> str:
    """Percent-decoded as ASP.NET Core decodes a request path: all but `%2F`, which stays
    encoded (decoding it would change which route matched; dotnet/aspnetcore#17864)."""
    return "".join(part if _ENCODED_SLASH.fullmatch(part) else unquote(part)
                   for part in _ENCODED_SLASH.split(raw))


def _bound_check(name: str, args: list[int]) -> Callable[[str], bool]:
    """Checks for the constraints that take numeric arguments."""

    def check(value: str) -> bool:
        if name in ("min", "max", "range"):
            try:
                number = int(value)
            except ValueError:
                return False
            low = args[0] if name in ("min", "range") else None
            high = args[-1] if name in ("max", "range") else None
            return (low is None or number >= low) and (high is None or number <= high)
        size = len(value)
        if name == "length":
            return size == args[0] if len(args) == 1 else args[0] <= size <= args[1]
        return size >= args[0] if name == "minlength" else size <= args[0]

    return check


@dataclass(frozen=True)
class _Param:
    name: str
    pattern: str
    checks: tuple[Callable[[str], bool], ...]
    optional: bool
    catch_all: bool


def _parse_param(text: str, template: str) -> _Param:
    catch_all = text.startswith("*")
    text = text.lstrip("*")
    optional = text.endswith("?")
    text = text.rstrip("?").split("=", 1)[0]
    name, *constraints = text.split(":")
    pattern = ".*" if catch_all else "[^/]+"
    checks: list[Callable[[str], bool]] = []
    for constraint in constraints:
        kind, _, rest = constraint.partition("(")
        kind = kind.lower()
        if kind == "regex":
            pattern = rest[:-1]
        elif kind in _CONSTRAINT_PATTERNS:
            pattern = _CONSTRAINT_PATTERNS[kind]
        elif kind in _NUMERIC and rest.endswith(")"):
            checks.append(_bound_check(kind, [int(a) for a in rest[:-1].split(",")]))
        else:
            raise AppError(f"route {template!r}: unsupported constraint {constraint!r}")
    if not name.isidentifier():
        raise AppError(f"route {template!r}: {name!r} is not a valid parameter name")
    return _Param(name, pattern, tuple(checks), optional or catch_all, catch_all)


class Route:
    """A compiled route template; `match` gives the route parameters or None."""

    def __init__(self, template: str) -> None:
        self.template = template.strip("/")
        self.params: list[_Param] = []
        self.literal_segments = 0
        self.regex = re.compile(self._compile(), re.IGNORECASE)

    def _compile(self) -> str:
        pattern = ""
        for segment in self.template.split("/") if self.template else []:
            found = list(_PARAM.finditer(segment))
            if not found:
                self.literal_segments += 1
                pattern += "/" + re.escape(segment)
                continue
            if len(found) == 1 and found[0].group(0) == segment:
                param = _parse_param(found[0].group(1), self.template)
                self.params.append(param)
                piece = f"/(?P<{param.name}>{param.pattern})"
                pattern += f"(?:{piece})?" if param.optional else piece
                continue
            # A segment mixing text and parameters, such as `{name}.{ext}`.
            piece, position = "", 0
            for match in found:
                param = _parse_param(match.group(1), self.template)
                self.params.append(param)
                piece += re.escape(segment[position:match.start()])
                piece += f"(?P<{param.name}>{param.pattern.replace('+', '+?')})"
                position = match.end()
            pattern += "/" + piece + re.escape(segment[position:])
        return f"^{pattern}/?$"

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.match(path.rstrip("/") or "")
        if not found:
            return None
        values: dict[str, str] = {}
        for param in self.params:
            raw = found.group(param.name)
            if raw is None:
                continue
            value = _route_value(raw)
            if not all(check(value) for check in param.checks):
                return None
            values[param.name] = value
        return values
