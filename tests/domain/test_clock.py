"""The API's ISO timestamps: milliseconds, UTC, `Z` (the formatted seconds are cached)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from inboxd.domain.clock import iso_from_ms


def test_iso_from_ms_matches_datetime_for_every_millisecond_shape() -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    samples = [0, 1, 999, 1000, 1001, -1, -999, -1000, -1001, 1761574714999, 1761574715000, 4102444800000]
    samples += [random.randrange(-10**12, 5 * 10**12) for _ in range(5000)]
    for ms in samples:
        expected = (epoch + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert iso_from_ms(ms) == expected, ms
        assert iso_from_ms(ms) == expected  # from the cache, the same
    assert iso_from_ms(None) is None
