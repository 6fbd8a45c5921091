"""The one JSON reader for everything callers send (HTTP bodies and queue messages): UTF-8,
no duplicate keys, no NaN or Infinity, and every string valid Unicode (no lone surrogates)."""

from __future__ import annotations

import json
from typing import Any


class NotStrictJson(ValueError):
    """The input is not strict JSON text; the message says why, never what it held."""


def parse_json(data: bytes, *, max_bytes: int | None = None) -> Any:
    """Parse `data` strictly; raises NotStrictJson (a ValueError)."""
    if max_bytes is not None and len(data) > max_bytes:
        raise NotStrictJson(f"longer than {max_bytes} bytes")
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_object,
                           parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise NotStrictJson("not UTF-8") from exc
    except RecursionError as exc:
        raise NotStrictJson("nested too deeply") from exc
    except NotStrictJson:
        raise
    except ValueError as exc:
        raise NotStrictJson("not JSON") from exc
    _check_strings(value)
    return value


def is_unicode(text: str) -> bool:
    """Whether `text` is valid Unicode: \\ud800 escapes decode to lone surrogates in Python,
    which no UTF-8 encoder (Table Storage, ACS, a log) accepts."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_strings(value: Any) -> None:
    """Every key and string in the document, without recursion (depth is the parser's)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not is_unicode(item):
                raise NotStrictJson("text is not valid Unicode")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise NotStrictJson("duplicate key")
    return result


def _no_constant(name: str) -> Any:
    raise NotStrictJson(f"{name} is not JSON")
