"""Phone numbers in any common format → E.164 digits (inboxd.templates.phones)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inboxd.templates.phones import PhoneProblem, default_region, normalize_phone


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        # The reference's own examples (§7.3): 0521234567, 972521234567, +972 52-123-4567.
        ("0521234567", "972", "972521234567"),
        ("972521234567", "972", "972521234567"),
        ("972521234567", None, "972521234567"),
        ("+972 52-123-4567", None, "972521234567"),
        ("+972 (52) 123.4567", "1", "972521234567"),
        ("00972521234567", None, "972521234567"),
        ("052-123-4567", "+972", "972521234567"),
        ("\u200f052-1234567", "972", "972521234567"),  # a right-to-left mark pasted with it
        ("34673494148", None, "34673494148"),
        ("+1 (650) 555-1234", None, "16505551234"),
        ("(202) 555-0123", "1", "12025550123"),
        # A number with its country code wins over the default country's national reading.
        ("972521234567", "1", "972521234567"),
    ],
)
def test_formats(raw: str, country: str | None, expected: str) -> None:
    assert normalize_phone(raw, default_country_code=country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "reason"),
    [
        ("0521234567", None, "INBOXD_DEFAULT_COUNTRY_CODE"),
        ("not a phone", "972", "must be a phone number"),
        ("+12", None, "not a possible"),
        ("12", None, "not a possible"),
        ("972-52-123-4567 ext 5", "972", "must be a phone number"),
    ],
)
def test_refused(raw: str, country: str | None, reason: str) -> None:
    with pytest.raises(PhoneProblem, match=reason):
        normalize_phone(raw, default_country_code=country)


def test_default_region() -> None:
    assert default_region("972") == "IL" and default_region("+1") == "US"
    assert default_region(None) is None and default_region("999") is None and default_region("IL") is None


SEPARATORS = st.sampled_from([" ", "-", ".", "", "  "])


@given(st.integers(min_value=0, max_value=9_999_999), SEPARATORS, st.booleans())
def test_any_formatting_of_one_number_gives_the_same_digits(subscriber: int, sep: str, plus: bool) -> None:
    digits = f"52{subscriber:07d}"  # an Israeli mobile: 05X-XXX-XXXX nationally
    international = ("+" if plus else "00") + sep.join(["972", digits[:2], digits[2:5], digits[5:]])
    national = sep.join(["0" + digits[:2], digits[2:5], digits[5:]])
    assert normalize_phone(international, default_country_code=None) == "972" + digits
    assert normalize_phone(national, default_country_code="972") == "972" + digits
