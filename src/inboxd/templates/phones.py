"""Phone numbers in any common format → E.164 digits without `+` (the WhatsApp id form that
chats are keyed on), with Google's libphonenumber (`phonenumbers`).

`+972 52-123-4567`, `00972521234567`, `972521234567` and, with a default country of 972, the
national `052-123-4567` all give `972521234567`. A number is accepted when libphonenumber finds
it *possible* (right length for its country), not only when it is *valid* (in an allocated
range): its range tables lag behind the carriers, and WhatsApp has the final word anyway.
"""

from __future__ import annotations

import re

import phonenumbers

_FORMATTING = re.compile(r"[\s\-().\u00a0\u200e\u200f]")  # incl. no-break space and RTL/LTR marks


class PhoneProblem(ValueError):
    """Why a string is not a usable phone number (a sentence for the API's `details`)."""


def default_region(country_code: str | None) -> str | None:
    """The region libphonenumber parses national numbers for, from a calling code (`972` → IL)."""
    if not country_code:
        return None
    digits = country_code.strip().lstrip("+")
    if not digits.isdigit():
        return None
    region = phonenumbers.region_code_for_country_code(int(digits))
    return None if region == phonenumbers.UNKNOWN_REGION else region


def normalize_phone(raw: str, *, default_country_code: str | None) -> str:
    compact = _FORMATTING.sub("", raw)
    international = compact.startswith("+") or compact.startswith("00")
    digits = compact.lstrip("+")
    if digits.startswith("00") and not compact.startswith("+"):
        digits = digits[2:]
    if not digits.isdigit():
        raise PhoneProblem("must be a phone number: digits, optionally with +, spaces, dashes, dots or parentheses")
    region = default_region(default_country_code)
    if international:
        number = _parse("+" + digits, None)
        if number is not None and phonenumbers.is_possible_number(number):
            return _digits(number)
        raise PhoneProblem("is not a possible international phone number")
    national = _parse(digits, region) if region else None
    abroad = _parse("+" + digits, None)
    # A valid reading wins; then, for a number with a trunk prefix (0…), the national reading.
    for candidate, test in (
        (national, phonenumbers.is_valid_number),
        (abroad, phonenumbers.is_valid_number),
        (national if digits.startswith("0") else None, phonenumbers.is_possible_number),
        (abroad if not digits.startswith("0") else None, phonenumbers.is_possible_number),
        (national, phonenumbers.is_possible_number),
    ):
        if candidate is not None and test(candidate):
            return _digits(candidate)
    if region is None and digits.startswith("0"):
        raise PhoneProblem(
            "looks like a national number; write it with its country code (e.g. +972 52-123-4567) or set "
            "INBOXD_DEFAULT_COUNTRY_CODE"
        )
    raise PhoneProblem("is not a possible phone number")


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _digits(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
