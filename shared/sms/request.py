"""The SMS request model shared by SendSms and the sms-outbox queue: strict parsing, recipients
normalised to E.164 and de-duplicated, the country allowlist, and the Idempotency-Key rules.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from shared.config.settings import Settings
from shared.edge.strict_json import is_unicode
from shared.errors import FieldError, ValidationError
from shared.sms.numbers import has_number_type, parse_number

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
class Recipients:
    """Recipients resolved by phonenumbers: unique E.164 numbers in the caller's order, and the
    well-formed ones that are not valid numbers (reported, never sent)."""

    numbers: tuple[str, ...]
    invalid: frozenset[str]

    @property
    def sendable(self) -> tuple[str, ...]:
        return tuple(n for n in self.numbers if n not in self.invalid)

    def invalid_positions(self) -> list[tuple[int, str]]:
        """Where the invalid numbers stand among `numbers`: what a replay needs to rebuild the
        outcome in order without parsing a number again."""
        return [(i, n) for i, n in enumerate(self.numbers) if n in self.invalid]


@dataclass(frozen=True)
class SmsRequest:
    """A request whose shape is validated. Its recipients (`to`, as the caller wrote them) are
    resolved only by `resolve`, right before a send: a replay of a completed idempotency key
    answers from its record without parsing a single number."""

    to: tuple[str, ...]
    message: str
    tag: str | None
    enable_delivery_report: bool

    def fingerprint(self) -> str:
        """Identifies the request as sent, so one idempotency key cannot cover two requests
        (a retry must repeat the body, as the Idempotency-Key draft expects)."""
        canonical = json.dumps(
            [list(self.to), self.message, self.tag, self.enable_delivery_report],
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
        to = _recipient_strings(body.get("to"), settings, problems)
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
            to=to, message=str(message), tag=tag if isinstance(tag, str) else None,
            enable_delivery_report=bool(report),
        )

    def resolve(self, allowed_regions: frozenset[str]) -> Recipients:
        """Parse, normalise and de-duplicate the recipients; ValidationError for a number that
        is not E.164 or whose country or region is not in `allowed_regions` (when set)."""
        return RecipientResolver(self.to, allowed_regions).finish()


class RecipientResolver:
    """Resolves recipients in the caller's order only as far as asked, so a send can start
    its first ACS calls while later numbers are still being parsed. Each number is parsed
    once; `finish` resolves the rest and raises the allowlist's ValidationError, if any (a
    caller with an allowlist finishes before anything is written or sent)."""

    def __init__(self, to: Sequence[str], allowed_regions: frozenset[str]) -> None:
        self._to = to
        self._allowed_regions = allowed_regions
        self._next = 0
        self._numbers: dict[str, None] = {}
        self._invalid: set[str] = set()
        self._sendable: list[str] = []
        self._problems: list[FieldError] = []
        # Region and validity of each number seen: a repeated number is checked once.
        self._regions: dict[str, tuple[str | None, bool]] = {}

    def sendable(self, start: int, stop: int) -> list[str]:
        """The sendable numbers (valid, unique, in order) from `start` to before `stop`."""
        while len(self._sendable) < stop and self._next < len(self._to):
            self._resolve_next()
        return self._sendable[start:stop]

    def finish(self) -> Recipients:
        while self._next < len(self._to):
            self._resolve_next()
        if self._problems:
            raise ValidationError("The SMS request is not valid.", errors=tuple(self._problems))
        return Recipients(tuple(self._numbers), frozenset(self._invalid))

    def _resolve_next(self) -> None:
        index, item = self._next, self._to[self._next]
        self._next += 1
        number = parse_number(item)
        if number is None:
            # The documented shape, but no number (too short, no such country code): a
            # failed result like any invalid number, under the text as given.
            self._add(item, valid=False)
            return
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        known = self._regions.get(e164)
        region, valid = known if known is not None else region_and_validity(number)
        self._regions[e164] = region, valid
        if valid and self._allowed_regions and region not in self._allowed_regions:
            pointer = "/to" if len(self._to) == 1 else f"/to/{index}"
            self._problems.append(FieldError(
                pointer, "This service does not send SMS to that country or region."
            ))
        self._add(e164, valid=valid)

    def _add(self, number: str, *, valid: bool) -> None:
        if number in self._numbers:
            return
        self._numbers[number] = None
        if valid:
            self._sendable.append(number)
        else:
            self._invalid.add(number)


def region_and_validity(number: phonenumbers.PhoneNumber) -> tuple[str | None, bool]:
    """`region_code_for_number` and `is_valid_number`, computing the number's type once.

    phonenumbers finds the region of a shared country code (+1 has 25 regions) by computing
    the number's type region by region, then `is_valid_number_for_region` computes it again:
    together half the cost of a large recipient list. tests/unit checks this against the two
    public functions for every region's example numbers.
    """
    code = number.country_code
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code) if code is not None else None
    if code is None or not regions:
        return None, False
    nsn = phonenumbers.national_significant_number(number)
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region.upper())
        if metadata is None:
            continue
        if len(regions) > 1 and metadata.leading_digits is not None:
            if not re.match(metadata.leading_digits, nsn):
                continue
        elif len(regions) > 1:
            if has_number_type(nsn, metadata):
                return region, True
            continue
        return region, has_number_type(nsn, metadata)
    return None, False


def _recipient_strings(raw: Any, settings: Settings, problems: list[FieldError]
                       ) -> tuple[str, ...]:
    if isinstance(raw, str):
        items: list[Any] = [raw]
    elif isinstance(raw, list) and raw:
        items = raw
    else:
        problems.append(FieldError("/to", "Required: an E.164 number or a non-empty list of them."))
        return ()
    if len(items) > settings.sms_max_recipients:
        # Checked before anything else, so an abusive list costs nothing.
        problems.append(FieldError(
            "/to", f"At most {settings.sms_max_recipients} recipients per request."
        ))
        return ()
    for index, item in enumerate(items):
        if not isinstance(item, str) or not _NUMBER_SHAPE.fullmatch(item):
            pointer = "/to" if isinstance(raw, str) else f"/to/{index}"
            problems.append(FieldError(pointer, "Not a phone number in E.164 format."))
    return tuple(item for item in items if isinstance(item, str))


def caller_scope(caller_key: str) -> str:
    """The idempotency scope of an HTTP caller: its keys are private to it."""
    return f"http\n{caller_key}"


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
