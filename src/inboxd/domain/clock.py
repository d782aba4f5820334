"""Time in the units of the Texter API: epoch milliseconds, and ISO strings with milliseconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_from_ms(ms: int | None) -> str | None:
    if ms is None:
        return None
    return _iso_second(ms // 1000) + f"{ms % 1000:03d}Z"


@lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    """The ISO text of a whole second (the timestamps of a message and its chat share their
    second: formatting it was a few per cent of a send's CPU)."""
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")


def seconds_from_ms(ms: int | None) -> int | None:
    return None if ms is None else ms // 1000
