"""Token buckets for Meta's two send limits: the throughput cap of a phone number (messages per
second, error 130429) and the pair rate limit to one user (a burst, then about one message per
6 s, error 131056)."""

from __future__ import annotations

import time
from collections import OrderedDict


class TokenBucket:
    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, capacity: float, rate: float, now: float | None = None) -> None:
        self.capacity = capacity
        self.rate = rate  # tokens per second
        self.tokens = capacity
        self.updated = time.monotonic() if now is None else now

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class SendLimits:
    """Both limits of one phone number. A capacity of 0 turns a limit off."""

    MAX_TRACKED_RECIPIENTS = 200_000  # the oldest idle buckets go first (they are full again anyway)

    def __init__(self, mps: int, pair_burst: int, pair_interval: float) -> None:
        self.configure(mps, pair_burst, pair_interval)

    def configure(self, mps: int, pair_burst: int, pair_interval: float) -> None:
        # A one-second bucket: up to `mps` in any second, refilled continuously.
        self.throughput = TokenBucket(mps, mps) if mps > 0 else None
        self.pair_burst = pair_burst
        self.pair_rate = 1.0 / pair_interval if pair_interval > 0 else float("inf")
        self.pairs: OrderedDict[str, TokenBucket] = OrderedDict()

    def take_throughput(self) -> bool:
        return self.throughput is None or self.throughput.take()

    def take_pair(self, recipient: str) -> bool:
        if self.pair_burst <= 0:
            return True
        bucket = self.pairs.get(recipient)
        if bucket is None:
            bucket = self.pairs[recipient] = TokenBucket(self.pair_burst, self.pair_rate)
            if len(self.pairs) > self.MAX_TRACKED_RECIPIENTS:
                self.pairs.popitem(last=False)
        else:
            self.pairs.move_to_end(recipient)
        return bucket.take()
