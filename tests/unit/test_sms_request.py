"""SMS request parsing without servers: shapes, resolution, and the one-pass validity check."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import phonenumbers
import pytest

from shared.config.settings import Settings
from shared.errors import ValidationError
from shared.sms.numbers import PLAIN_E164, parse_number
from shared.sms.records import uuid5_url
from shared.sms.request import SmsRequest, region_and_validity

SETTINGS = Settings(acs_endpoint="https://acs.example", auth_issuer="https://issuer.example",
                    auth_audiences=("api",), table_endpoint="https://t.example")


def _region_examples() -> Iterator[tuple[str, phonenumbers.PhoneNumber]]:
    """Every region's example mobile, fixed-line and toll-free numbers, with the region."""
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE,
                     phonenumbers.PhoneNumberType.FIXED_LINE,
                     phonenumbers.PhoneNumberType.TOLL_FREE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                yield region, example


def _samples() -> list[phonenumbers.PhoneNumber]:
    """Every region's example numbers of every type, and each one with a digit too many and
    one too few: valid, invalid and ambiguous numbers from all over the metadata."""
    found = []
    for _, example in _region_examples():
        e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        for text in (e164, e164 + "5", e164[:-1]):
            with contextlib.suppress(phonenumbers.NumberParseException):
                found.append(phonenumbers.parse(text, None))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        non_geo = phonenumbers.example_number_for_non_geo_entity(code)
        if non_geo is not None:
            found.append(non_geo)
    return found


def test_region_and_validity_agrees_with_phonenumbers_public_functions() -> None:
    samples = _samples()
    assert len(samples) > 1000

    for number in samples:
        expected_region = phonenumbers.region_code_for_number(number)
        expected_valid = expected_region is not None and \
            phonenumbers.is_valid_number_for_region(number, expected_region)
        region, valid = region_and_validity(number)
        assert valid == expected_valid, number
        if valid:
            assert region == expected_region, number


def _plain_e164_texts() -> set[str]:
    """Plain E.164 texts from all over the metadata: every region's example numbers, each with
    a digit too many or too few, with its national prefix (or a 0) written after the country
    code; and every 1-3 digit country code, assigned or not, with national parts of many
    lengths."""
    texts = set()
    for region, example in _region_examples():
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        prefix = (metadata.national_prefix if metadata is not None else None) or ""
        code = str(example.country_code)
        national = phonenumbers.national_significant_number(example)
        e164 = f"+{code}{national}"
        texts |= {e164, e164 + "5", e164[:-1], e164[:-3], f"+{code}0{national}",
                  f"+{code}{prefix}{national}", f"+{code}{prefix}{national[:-2]}"}
    for calling_code in range(1, 1000):
        for digits in ("", "0", "1", "12", "0123456", "99999999999", "1234567890123",
                       "12345678901234567", "123456789012345678"):
            texts.add(f"+{calling_code}{digits}")
    return {text for text in texts if PLAIN_E164.fullmatch(text)}


def test_parse_number_plain_e164_agrees_with_phonenumbers_parse() -> None:
    texts = _plain_e164_texts()
    assert len(texts) > 10_000
    parsed = 0

    for text in texts:
        try:
            expected: phonenumbers.PhoneNumber | None = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            expected = None
        assert parse_number(text) == expected, text
        parsed += expected is not None
    assert parsed > 5_000  # most of them are numbers, so the comparison covers the parse


def test_parse_number_written_with_separators_parsed_by_phonenumbers() -> None:
    number = parse_number("+1 (425) 555-0100")

    assert number == phonenumbers.parse("+14255550100", None)
    assert parse_number("+1 ()") is None


def test_sms_request_resolve_normalises_dedupes_in_order() -> None:
    request = SmsRequest.parse({"to": ["+1 (425) 555-0100", "+14255550101", "+14255550100",
                                       "+1 425 000 0000"], "message": "x"}, SETTINGS)

    recipients = request.resolve(frozenset())

    assert recipients.numbers == ("+14255550100", "+14255550101", "+14250000000")
    assert recipients.invalid == {"+14250000000"}
    assert recipients.sendable == ("+14255550100", "+14255550101")
    assert recipients.invalid_positions() == [(2, "+14250000000")]


def test_sms_request_resolve_region_not_allowed_pointer() -> None:
    request = SmsRequest.parse({"to": ["+14255550100", "+442079460000"], "message": "x"},
                               SETTINGS)

    with pytest.raises(ValidationError) as raised:
        request.resolve(frozenset({"US"}))

    assert [e.pointer for e in raised.value.errors] == ["/to/1"]


@pytest.mark.parametrize("body", [
    {"to": "4255550100", "message": "x"}, {"to": [], "message": "x"}, {"to": [1], "message": "x"},
    {"to": "+14255550100"}, {"to": "+14255550100", "message": " "},
    {"to": "+14255550100", "message": "x", "tag": ""}, {"to": "+14255550100", "message": "x",
                                                        "enableDeliveryReport": "yes"},
    {"to": ["+14255550100"] * 1001, "message": "x"}, [],
])
def test_sms_request_parse_bad_shape_validation_error(body: Any) -> None:
    with pytest.raises(ValidationError):
        SmsRequest.parse(body, SETTINGS)


def test_sms_request_fingerprint_differs_by_body_only() -> None:
    one = SmsRequest.parse({"to": ["+14255550100"], "message": "x"}, SETTINGS)
    same = SmsRequest.parse({"message": "x", "to": ["+14255550100"]}, SETTINGS)
    other = SmsRequest.parse({"to": ["+14255550100"], "message": "y"}, SETTINGS)

    assert one.fingerprint() == same.fingerprint() != other.fingerprint()


@pytest.mark.parametrize("name", ["sms:abc:+14255550100:0", "", "é€😀", "x" * 500])
def test_uuid5_url_same_as_uuid_module(name: str) -> None:
    assert uuid5_url(name) == str(uuid.uuid5(uuid.NAMESPACE_URL, name))
