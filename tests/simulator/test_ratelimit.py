"""Token buckets for the throughput cap and the pair rate limit."""

from __future__ import annotations

from inboxd.simulator.ratelimit import SendLimits, TokenBucket


def test_a_bucket_allows_its_capacity_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(capacity=3, rate=1.0, now=0.0)
    assert [bucket.take(now=0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(now=0.5) is False
    assert bucket.take(now=1.0) is True
    assert bucket.take(now=100.0) and bucket.tokens <= 3  # never above capacity


def test_pair_limits_are_per_recipient_and_zero_turns_them_off() -> None:
    limits = SendLimits(mps=0, pair_burst=2, pair_interval=6.0)
    assert [limits.take_pair("a") for _ in range(3)] == [True, True, False]
    assert limits.take_pair("b") is True
    assert all(limits.take_throughput() for _ in range(10_000))  # mps 0: no cap
    limits.configure(mps=0, pair_burst=0, pair_interval=6.0)
    assert all(limits.take_pair("a") for _ in range(100))


def test_the_throughput_cap_is_a_one_second_bucket() -> None:
    limits = SendLimits(mps=80, pair_burst=0, pair_interval=6.0)
    taken = sum(limits.take_throughput() for _ in range(200))
    assert 80 <= taken <= 82  # the cap, plus what refilled while looping
