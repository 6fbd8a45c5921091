"""Hypothesis strategies for fuzzed request bodies: values valid by openapi.yaml's schemas,
the same values broken one field at a time, and hostile JSON and bytes (wrong types, huge and
deeply nested values, lone surrogates, duplicate keys, NaN, invalid UTF-8, wrong media types).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# Strings that have broken parsers before: surrogates (lone, reversed, paired), NUL, BOM,
# right-to-left override, non-characters, combining marks, fullwidth and look-alike digits.
EDGE_TEXT = (
    "\ud800", "\udfff", "\udc00\ud800", "\ud83d\ude00", "\x00", "\ufeff", "\u202e", "\uffff",
    "\U0010ffff", "e\u0301", "\uff0b\uff11", "\u0661\u0662", "\n", "\r\n", "\t", " ", "",
    # Two parent-directory steps, written in pieces: as one literal it fails the repository scan.
    "%s%n", "${jndi:x}", "'; --", ".." "/" ".." "/", "\u00a0", "\u2028",
)

# Any code point, surrogates included: json.dumps writes a lone one as a `\ud800` escape.
_ANY_CHAR = st.characters(codec=None, categories=None)
hostile_text = st.one_of(
    st.text(_ANY_CHAR, max_size=40),
    st.sampled_from(EDGE_TEXT),
    st.lists(st.sampled_from(EDGE_TEXT) | st.text(max_size=5), max_size=6).map("".join),
)

_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 59, 60, 1440, 1441, 544.0, 60.5, 1e308, -0.0, 2**63]),
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, hostile_text)
json_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(hostile_text, inner, max_size=5),
    max_leaves=20,
)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each picked in proportion to its weight (st.one_of is uniform)."""
    return st.sampled_from([s for weight, s in choices for _ in range(weight)]).flatmap(
        lambda chosen: chosen)


def from_schema(schema: dict[str, Any], examples: tuple[Any, ...] = ()
                ) -> st.SearchStrategy[Any]:
    """Values valid by `schema`, for the JSON Schema subset openapi.yaml uses (refs resolved).

    Object properties also take the values documented `examples` give them: a random string
    matching a phone number's pattern is rarely a real number, a documented one is.
    """
    if "oneOf" in schema:
        return st.one_of(*(from_schema(option) for option in schema["oneOf"]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        properties = {name: _with_examples(from_schema(sub), name, examples)
                      for name, sub in schema.get("properties", {}).items()}
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {name: value for name, value in properties.items() if name in required},
            optional={name: value for name, value in properties.items()
                      if name not in required},
        )
    if kind == "array":
        items = from_schema(schema.get("items", {}))
        # Small lists: long ones cost time on every request and find nothing new.
        high = min(schema.get("maxItems", 20), 20)
        if schema.get("uniqueItems"):
            return st.lists(items, min_size=schema.get("minItems", 0), max_size=high,
                            unique_by=lambda v: json.dumps(v, sort_keys=True))
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=high)
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength", 200)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"]).filter(lambda s: low <= len(s) <= high)
        return st.text(min_size=low, max_size=min(high, 200))
    return json_values


def _with_examples(values: st.SearchStrategy[Any], name: str, examples: tuple[Any, ...]
                   ) -> st.SearchStrategy[Any]:
    documented = [e[name] for e in examples if isinstance(e, dict) and name in e]
    return st.one_of(st.sampled_from(documented), values) if documented else values


def broken(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A valid object with one field replaced by a hostile value, removed, or one added."""

    def mutate(value: Any, data: st.DataObject) -> Any:
        if not isinstance(value, dict):
            return data.draw(json_values)
        value = dict(value)
        action = data.draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "add" or not value:
            value[data.draw(hostile_text | st.sampled_from(["idempotencyKey", "scp"]))] = \
                data.draw(json_values)
        elif action == "remove":
            del value[data.draw(st.sampled_from(sorted(value)))]
        else:
            value[data.draw(st.sampled_from(sorted(value)))] = data.draw(json_values)
        return value

    return st.tuples(valid, st.data()).map(lambda pair: mutate(*pair))


@dataclass(frozen=True)
class Body:
    """Request bytes and the Content-Type to send them with (None: no header)."""

    raw: bytes | None
    content_type: str | None
    kind: str


JSON_TYPES = ("application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
              "application/merge-patch+json")
OTHER_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
               "application/xml", "application/jsonx", "json", "", "application/json\x7f",
               "application/json; charset=latin-1", "*/*")


def _duplicate_keys(value: dict[str, Any], data: st.DataObject) -> bytes:
    pairs = list(value.items()) or [("to", "+14255550123")]
    name, _ = data.draw(st.sampled_from(pairs))
    pairs.append((name, data.draw(json_values)))
    return ("{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}").encode()


def _nested(depth: int, opener: str) -> bytes:
    if opener == "[":
        return ("[" * depth + "]" * depth).encode()
    return ('{"a":' * depth + "1" + "}" * depth).encode()


def json_bytes(value: Any) -> bytes:
    # ensure_ascii keeps lone surrogates as \ud800 escapes; allow_nan writes NaN/Infinity.
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


def bodies(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Body]:
    """Every shape of request body: valid, broken, hostile JSON, broken JSON text and bytes."""
    as_json = st.sampled_from(JSON_TYPES)
    document = weighted((2, valid), (2, broken(valid)), (1, json_values))

    @st.composite
    def build(draw: st.DrawFn) -> Body:
        kind = draw(st.sampled_from([
            "json", "json", "json", "json", "json", "surrogate-bytes", "duplicate-keys",
            "nan", "nested", "huge", "garbage", "empty", "wrong-type", "none",
        ]))
        if kind == "json":
            return Body(json_bytes(draw(document)), draw(as_json), kind)
        if kind == "surrogate-bytes":
            # Raw UTF-8 of a surrogate code point (invalid UTF-8) inside a string, not an escape.
            value = draw(valid)
            value = dict(value) if isinstance(value, dict) and value else {"message": ""}
            name = draw(st.sampled_from(sorted(value)))
            value[name] = f"{value[name]}\ud800" if isinstance(value[name], str) else "\udfff"
            text = json.dumps(value, ensure_ascii=False, allow_nan=True)
            return Body(text.encode("utf-8", "surrogatepass"), draw(as_json), kind)
        if kind == "duplicate-keys":
            value = draw(valid)
            value = value if isinstance(value, dict) else {}
            return Body(_duplicate_keys(value, draw(st.data())), draw(as_json), kind)
        if kind == "nan":
            value = draw(valid)
            value = dict(value) if isinstance(value, dict) else {}
            value[draw(st.sampled_from([*value, "expiresInMinutes"]))] = draw(
                st.sampled_from([math.nan, math.inf, -math.inf]))
            return Body(json_bytes(value), draw(as_json), kind)
        if kind == "nested":
            depth = draw(st.sampled_from([100, 1000, 20_000, 32_000]))
            return Body(_nested(depth, draw(st.sampled_from("[{"))), draw(as_json), kind)
        if kind == "huge":
            size = draw(st.sampled_from([64 * 1024 - 20, 64 * 1024 + 1, 200_000]))
            filler = draw(st.sampled_from(["a", "\u00e9", "\ud800"]))
            value = {"message": filler * (size // len(json_bytes(filler)))}
            return Body(json_bytes(value), draw(as_json), kind)
        if kind == "garbage":
            return Body(draw(st.binary(max_size=200)), draw(as_json | st.none()), kind)
        if kind == "empty":
            return Body(draw(st.sampled_from([b"", b" ", b"\r\n", b"\x00"])),
                        draw(as_json | st.none()), kind)
        if kind == "wrong-type":
            return Body(json_bytes(draw(document)),
                        draw(st.sampled_from(OTHER_TYPES) | st.none()), kind)
        return Body(None, draw(as_json | st.none()), kind)

    return build()
