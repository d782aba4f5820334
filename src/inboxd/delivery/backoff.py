"""How long to wait before trying again."""

from __future__ import annotations

import random


def retry_delay(attempt: int, *, cap: float, base: float = 1.0) -> float:
    """Exponential backoff with full jitter in its upper half: attempt 1 → ~1 s, 2 → ~2 s, …"""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def pair_limit_delay(attempt: int, *, cap: float) -> float:
    """Meta's advice for 131056 (pair rate limit): wait 4^x seconds."""
    return min(cap, 4.0 ** max(0, attempt - 1)) * random.uniform(1.0, 1.2)
