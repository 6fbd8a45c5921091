"""Validation of Chat request bodies and query parameters against the 2024-03-07 definition:
every malformed input is a 400 in ACS's error envelope, raised before anything changes."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.web import AcsError

logger = logging.getLogger(__name__)

MAX_TOPIC = 250
MAX_CONTENT = 28 * 1024  # ACS's documented message size limit (28 KB)
MAX_DISPLAY_NAME = 256
MAX_PARTICIPANTS_PER_REQUEST = 200
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 100
MAX_METADATA_ENTRIES = 64
IDENTIFIER_KINDS = frozenset({"communicationUser", "phoneNumber", "microsoftTeamsUser",
                              "microsoftTeamsApp", "unknown"})
_SIMPLE_CONTENT_TYPES = ("application/json", "application/merge-patch+json")


def invalid(message: str) -> AcsError:
    return AcsError(400, "BadRequest", message)


@dataclass(frozen=True)
class Identifier:
    """A parsed CommunicationIdentifierModel: only communication users can take part here."""

    kind: str
    raw_id: str

    @property
    def is_user(self) -> bool:
        return self.kind == "communicationUser"


@dataclass(frozen=True)
class NewParticipant:
    identifier: Identifier
    display_name: str | None
    share_history_ms: int | None


def string(body: Mapping[str, Any], name: str, *, required: bool = False, limit: int | None = None,
           allow_empty: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(f"'{name}' is required.")
        return None
    if not isinstance(value, str):
        raise invalid(f"'{name}' must be a string.")
    if not allow_empty and not value.strip():
        raise invalid(f"'{name}' must not be empty.")
    if limit is not None and len(value) > limit:
        raise invalid(f"'{name}' is longer than {limit} characters.")
    return value


def date_time(value: Any, name: str) -> int:
    """An RFC 3339 date-time as epoch milliseconds; a naive one is taken as UTC."""
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]", value):
        raise invalid(f"'{name}' must be an RFC 3339 date-time.")
    try:
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        # In UTC it must still be a representable date (0001-01-01T00:00+05:00 is not).
        moment = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise invalid(f"'{name}' must be an RFC 3339 date-time.") from None
    return int(moment.timestamp() * 1000)


def identifier(value: Any, name: str) -> Identifier:
    if not isinstance(value, dict):
        raise invalid(f"'{name}' must be a communication identifier object.")
    kind = value.get("kind")
    if kind is not None and (not isinstance(kind, str) or kind not in IDENTIFIER_KINDS):
        raise invalid(f"'{name}.kind' is not a known identifier kind.")
    raw_id = value.get("rawId")
    if raw_id is not None and not isinstance(raw_id, str):
        raise invalid(f"'{name}.rawId' must be a string.")
    typed = [key for key in ("communicationUser", "phoneNumber", "microsoftTeamsUser",
                             "microsoftTeamsApp") if value.get(key) is not None]
    if len(typed) > 1:
        raise invalid(f"'{name}' may set at most one identifier property.")
    if typed == ["communicationUser"]:
        user = value["communicationUser"]
        if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
            raise invalid(f"'{name}.communicationUser.id' is required.")
        if kind not in (None, "communicationUser") or raw_id not in (None, user["id"]):
            raise invalid(f"'{name}' kind or rawId contradicts communicationUser.")
        return Identifier("communicationUser", user["id"])
    if typed:
        return Identifier(typed[0], raw_id or "")
    if raw_id:
        # A raw id alone: 8:acs:... is a communication user, anything else is not emulated.
        return Identifier("communicationUser" if raw_id.startswith("8:acs:") else "unknown",
                          raw_id)
    raise invalid(f"'{name}' must identify someone (communicationUser.id or rawId).")


def participants(value: Any, name: str, *, required: bool) -> list[NewParticipant]:
    if value is None:
        if required:
            raise invalid(f"'{name}' is required.")
        return []
    if not isinstance(value, list):
        raise invalid(f"'{name}' must be an array.")
    if required and not value:
        raise invalid(f"'{name}' must list at least one participant.")
    if len(value) > MAX_PARTICIPANTS_PER_REQUEST:
        raise invalid(f"'{name}' lists more than {MAX_PARTICIPANTS_PER_REQUEST} participants.")
    result = []
    for index, item in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(item, dict):
            raise invalid(f"'{where}' must be an object.")
        share = item.get("shareHistoryTime")
        result.append(NewParticipant(
            identifier=identifier(item.get("communicationIdentifier"),
                                  f"{where}.communicationIdentifier"),
            display_name=string(item, "displayName", limit=MAX_DISPLAY_NAME),
            share_history_ms=None if share is None else date_time(share,
                                                                  f"{where}.shareHistoryTime"),
        ))
    return result


def metadata(value: Any, *, patch: bool = False) -> dict[str, str | None] | None:
    """`metadata`: string values (null removes a key in a merge patch)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("'metadata' must be an object of strings.")
    if len(value) > MAX_METADATA_ENTRIES:
        raise invalid(f"'metadata' holds more than {MAX_METADATA_ENTRIES} entries.")
    for key, item in value.items():
        if not (isinstance(item, str) or (patch and item is None)):
            raise invalid(f"'metadata.{key}' must be a string.")
    return dict(value)


def patch_body(headers: Mapping[str, str]) -> None:
    """PATCH bodies are JSON merge patches; plain JSON is accepted as the same thing."""
    content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type and content_type not in _SIMPLE_CONTENT_TYPES:
        raise AcsError(415, "UnsupportedMediaType",
                       "Send application/merge-patch+json or application/json.")


def page_size(query: Mapping[str, str]) -> int:
    return _int_query(query, "maxPageSize", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)


def skip(query: Mapping[str, str]) -> int:
    return _int_query(query, "skip", 0, 2**31 - 1, 0)


def _int_query(query: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"'{name}' must be an integer.") from None
    if not low <= value <= high:
        raise invalid(f"'{name}' must be within [{low}, {high}].")
    return value


def start_time(query: Mapping[str, str]) -> int | None:
    raw = query.get("startTime")
    return None if raw is None or raw == "" else date_time(raw, "startTime")
