"""Recipient numbers the short way, with phonenumbers' own helpers and data: plain E.164 (`+` and
digits only) parsed without the general parser, which first finds, normalises and strips a
number written any way at all; and whether a number has a type, without finding which one.

The steps `phonenumbers.parse(text, None)` takes for such a string are kept, in its order:
country code, national prefix, length. tests/unit holds both equal to phonenumbers' public
functions for every region's example numbers written many ways.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber
from phonenumbers.phonenumberutil import (
    _MAX_LENGTH_FOR_NSN,
    _MIN_LENGTH_FOR_NSN,
    ValidationResult,
    _extract_country_code,
    _is_number_matching_desc,
    _maybe_strip_national_prefix_carrier_code,
    _set_italian_leading_zeros_for_phone_number,
    _test_number_length,
    region_code_for_country_code,
)

# phonenumbers' own switch: keep every metadata pattern once compiled instead of asking the re
# module's bounded cache for it at each match (three matches per number; a list spanning many
# regions would also push patterns out of that cache and have them compiled again).
phonenumbers.enable_pattern_cache()

# A country code never starts with 0; phonenumbers reads at most 17 national digits.
PLAIN_E164 = re.compile(r"\+[1-9][0-9]{1,19}")
# Lengths for which phonenumbers keeps the national prefix it found (the number may be short).
_KEEP_PREFIX = frozenset({ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
                          ValidationResult.INVALID_LENGTH})


def parse_number(text: str) -> PhoneNumber | None:
    """`phonenumbers.parse(text, None)`, or None where it raises; plain E.164 the short way."""
    if not PLAIN_E164.fullmatch(text):
        try:
            return phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            return None
    code, national = _extract_country_code(text[1:])
    if code == 0:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        code, region_code_for_country_code(code))
    if metadata is None or len(national) < _MIN_LENGTH_FOR_NSN:
        return None
    _, stripped, _ = _maybe_strip_national_prefix_carrier_code(national, metadata)
    if _test_number_length(stripped, metadata) not in _KEEP_PREFIX:
        national = stripped
    if not _MIN_LENGTH_FOR_NSN <= len(national) <= _MAX_LENGTH_FOR_NSN:
        return None
    number = PhoneNumber(country_code=code)
    _set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    return number


def has_number_type(national: str, metadata: PhoneMetadata) -> bool:
    """`_number_type_helper(national, metadata) != UNKNOWN`, the test behind `is_valid_number`:
    the general pattern and any type's, most common first, instead of all ten in turn."""
    if not _is_number_matching_desc(national, metadata.general_desc):
        return False
    kinds = [metadata.fixed_line]
    if not metadata.same_mobile_and_fixed_line_pattern:
        kinds.append(metadata.mobile)
    kinds += [metadata.toll_free, metadata.premium_rate, metadata.shared_cost, metadata.voip,
              metadata.personal_number, metadata.pager, metadata.uan, metadata.voicemail]
    return any(_is_number_matching_desc(national, kind) for kind in kinds)
