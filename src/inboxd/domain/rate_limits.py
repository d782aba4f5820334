"""Rate limits: a token bucket per principal (an API token, a signed-in agent — all their
sessions share one —, or the client address of a request without either). Pure arithmetic; where the buckets live and how
processes share them is `api.limiter` and `store.rate_limits`.

A bucket holds at most `burst` units and refills at `rate` units a second; a request takes one.
The response headers follow the IETF draft "RateLimit header fields for HTTP"
(draft-ietf-httpapi-ratelimit-headers-09): `RateLimit-Policy: "token";q=100;w=2` (the bucket's
size, and the seconds an empty bucket takes to fill) and `RateLimit: "token";r=73;t=1` (units
left, seconds until the bucket is full again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

# Principal kinds: the policy's name in the headers, and the prefix of the bucket's key.
TOKEN, AGENT, ADDRESS = "token", "agent", "address"


@dataclass(frozen=True, slots=True)
class Policy:
    rate: float  # units a second, sustained
    burst: int  # the bucket's size

    def refill(self, level: float, elapsed_seconds: float) -> float:
        return min(float(self.burst), level + max(0.0, elapsed_seconds) * self.rate)

    def seconds_until(self, level: float, units: float = 1.0) -> float:
        """How long until the bucket holds `units` again (0 when it does now)."""
        return max(0.0, (min(units, float(self.burst)) - level) / self.rate)

    @property
    def window_seconds(self) -> int:
        """The draft's `w`: an empty bucket is full again after this many seconds."""
        return max(1, math.ceil(self.burst / self.rate))

    @property
    def lease_units(self) -> int:
        """How many units a process takes from the shared bucket at once (a tenth of it): few
        database round trips, and across N processes at most N × this above the burst."""
        return max(1, self.burst // 10)


@lru_cache(maxsize=1024)  # per request on the hot path; the same few (rate, burst) pairs: one Policy each
def policy_for(rate: float | None, burst: int | None, default: Policy) -> Policy:
    """A token's own policy: its stored rate and burst where set (a rate alone: burst = 2 × rate)."""
    if rate is None:
        return default if burst is None else Policy(default.rate, burst)
    return Policy(rate, burst if burst is not None else max(1, math.ceil(2 * rate)))


def policy_header(name: str, policy: Policy) -> str:
    return f'"{name}";q={policy.burst};w={policy.window_seconds}'


def state_values(policy: Policy, level: float) -> tuple[int, int]:
    """The draft's `r` and `t` at this level: whole units left, seconds until the bucket is full."""
    return max(0, int(level)), math.ceil(policy.seconds_until(level, policy.burst))


def state_header(name: str, remaining: int, reset: int) -> str:
    return f'"{name}";r={remaining};t={reset}'
