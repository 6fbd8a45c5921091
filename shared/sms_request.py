"""The SMS request model shared by SendSms and the sms-outbox queue: strict parsing, recipients
normalised to E.164 and de-duplicated, the country allowlist, and the Idempotency-Key rules.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import phonenumbers

from shared.errors import FieldError, ValidationError
from shared.settings import Settings
from shared.strict_json import is_unicode

MESSAGE_MAX = 2048
TAG_MAX = 128
KEY_MAX = 128
# Patterns are matched whole (fullmatch): `$` would let a trailing newline through.
# Loose on purpose: E.164 written with the usual separators; phonenumbers does the real parse.
_NUMBER_SHAPE = re.compile(r"\+[0-9 ()\-.]{2,30}")
# Printable ASCII only: the key is stored, hashed and echoed in logs never, but kept sane.
_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
# openapi.yaml states the same patterns (tests hold the two together).
_TAG = re.compile(rf"[^\x00-\x1f\x7f-\x9f]{{1,{TAG_MAX}}}")
_FIELDS = frozenset({"to", "message", "tag", "enableDeliveryReport"})


@dataclass(frozen=True)
class SmsRequest:
    """A validated request. `recipients` are unique E.164 numbers in the caller's order;
    `invalid` are the well-formed ones that are not valid numbers (reported, never sent)."""

    recipients: tuple[str, ...]
    invalid: frozenset[str]
    message: str
    tag: str | None
    enable_delivery_report: bool

    @property
    def sendable(self) -> tuple[str, ...]:
        return tuple(r for r in self.recipients if r not in self.invalid)

    def fingerprint(self) -> str:
        """Identifies the request's content, so one idempotency key cannot cover two requests."""
        canonical = json.dumps(
            [list(self.recipients), self.message, self.tag, self.enable_delivery_report],
            ensure_ascii=False, separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def parse(cls, body: Any, settings: Settings, *, extra_fields: frozenset[str] = frozenset()
              ) -> SmsRequest:
        """Validate a SendSms body (or a queue message, which may add `extra_fields`)."""
        if not isinstance(body, dict):
            raise ValidationError("The body must be a JSON object.")
        problems = [FieldError(f"/{_escape(k)}", "Unknown field.") for k in body
                    if k not in _FIELDS | extra_fields]
        recipients, invalid = _recipients(body.get("to"), settings, problems)
        message = body.get("message")
        if not isinstance(message, str) or not 1 <= len(message) <= MESSAGE_MAX \
                or not message.strip() or not is_unicode(message):
            problems.append(FieldError(
                "/message", f"Required: text of 1 to {MESSAGE_MAX} characters, not only spaces."
            ))
        tag = body.get("tag")
        if tag is not None and (not isinstance(tag, str) or not _TAG.fullmatch(tag)):
            problems.append(FieldError(
                "/tag", f"Text of 1 to {TAG_MAX} characters without control characters."
            ))
        report = body.get("enableDeliveryReport", False)
        if not isinstance(report, bool):
            problems.append(FieldError("/enableDeliveryReport", "Must be true or false."))
        if problems:
            raise ValidationError("The SMS request is not valid.", errors=tuple(problems))
        return cls(
            recipients=recipients, invalid=invalid, message=str(message),
            tag=tag if isinstance(tag, str) else None, enable_delivery_report=bool(report),
        )


def _recipients(raw: Any, settings: Settings, problems: list[FieldError]
                ) -> tuple[tuple[str, ...], frozenset[str]]:
    if isinstance(raw, str):
        items: list[Any] = [raw]
    elif isinstance(raw, list) and raw:
        items = raw
    else:
        problems.append(FieldError("/to", "Required: an E.164 number or a non-empty list of them."))
        return (), frozenset()
    if len(items) > settings.sms_max_recipients:
        # Checked before parsing anything, so an abusive list costs nothing.
        problems.append(FieldError(
            "/to", f"At most {settings.sms_max_recipients} recipients per request."
        ))
        return (), frozenset()
    numbers: dict[str, None] = {}
    invalid: set[str] = set()
    for index, item in enumerate(items):
        pointer = "/to" if isinstance(raw, str) else f"/to/{index}"
        if not isinstance(item, str) or not _NUMBER_SHAPE.fullmatch(item):
            problems.append(FieldError(pointer, "Not a phone number in E.164 format."))
            continue
        number = _parse_number(item)
        if number is None:
            # The documented shape, but no number (too short, no such country code): a failed
            # result like any invalid number, under the text as given.
            numbers[item] = None
            invalid.add(item)
            continue
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        numbers[e164] = None
        # is_valid_number, without looking the region up twice (it dominates a large list).
        region = phonenumbers.region_code_for_number(number)
        if region is None or not phonenumbers.is_valid_number_for_region(number, region):
            invalid.add(e164)
            continue
        if settings.sms_allowed_regions and region not in settings.sms_allowed_regions:
            problems.append(FieldError(
                pointer, "This service does not send SMS to that country or region."
            ))
    return tuple(numbers), frozenset(invalid)


def _parse_number(item: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(item, None)
    except phonenumbers.NumberParseException:
        return None


def parse_idempotency_key(value: Any, *, pointer: str | None = None) -> str | None:
    """An Idempotency-Key header (or the queue's `idempotencyKey`): absent, or 1..128 printable
    ASCII characters."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) <= KEY_MAX and _KEY.fullmatch(value):
        return value
    detail = f"Must be 1 to {KEY_MAX} printable ASCII characters."
    if pointer is None:
        raise ValidationError(f"The Idempotency-Key header is not valid: {detail.lower()}")
    raise ValidationError("The SMS request is not valid.", errors=(FieldError(pointer, detail),))


def _escape(key: str) -> str:
    # JSON Pointer escaping (RFC 6901), bounded so a huge key cannot bloat the problem.
    return key[:64].replace("~", "~0").replace("/", "~1")
