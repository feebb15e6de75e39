"""The local stack's usage plans: a token bucket per environment, a daily quota, 429s with
Retry-After as the API's gateway responses."""

from __future__ import annotations

import pytest

from infra.gateway import NO_USAGE_PLAN, QUOTA_EXCEEDED, THROTTLED
from infra.local.throttle import LocalUsagePlans, TokenBucket
from shared.domain.rate_limits import DEFAULT_LIMITS, RateLimits, usage_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.day = "2026-01-01"

    def __call__(self) -> float:
        return self.now


def plans(limits: dict[str, RateLimits | None], clock: Clock) -> LocalUsagePlans:
    return LocalUsagePlans(
        lambda environment_id: limits.get(environment_id), clock, lambda: clock.day
    )


def test_a_bucket_allows_the_burst_then_the_rate() -> None:
    bucket = TokenBucket.full(RateLimits(rate=2, burst=3), now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5)  # one token back after half a second at 2/s
    assert not bucket.take(0.5)
    assert bucket.take(10.0) and bucket.take(10.0) and bucket.take(10.0)
    assert not bucket.take(10.0)  # never more than the burst


def test_over_the_rate_is_throttled_with_retry_after() -> None:
    clock = Clock()
    usage = plans({"env_a": RateLimits(rate=1, burst=2)}, clock)
    key = usage_key("env_a")
    assert usage.admit(key) is None
    assert usage.admit(key) is None
    refused = usage.admit(key)
    assert refused is THROTTLED
    assert refused.status == 429 and refused.code == "rate_limited"
    assert refused.headers == {"Retry-After": "1"}
    clock.now += 1
    assert usage.admit(key) is None


def test_each_environment_has_its_own_bucket() -> None:
    clock = Clock()
    tight = RateLimits(rate=0.001, burst=1)
    usage = plans({"env_a": tight, "env_b": tight}, clock)
    assert usage.admit(usage_key("env_a")) is None
    assert usage.admit(usage_key("env_a")) is THROTTLED
    assert usage.admit(usage_key("env_b")) is None


def test_the_daily_quota_resets_with_the_utc_day() -> None:
    clock = Clock()
    usage = plans({"env_a": RateLimits(rate=1000, burst=1000, daily_quota=2)}, clock)
    key = usage_key("env_a")
    assert [usage.admit(key) for _ in range(3)] == [None, None, QUOTA_EXCEEDED]
    assert QUOTA_EXCEEDED.headers["Retry-After"].isdigit()
    clock.day = "2026-01-02"
    assert usage.admit(key) is None


def test_new_limits_apply_within_a_second() -> None:
    clock = Clock()
    limits: dict[str, RateLimits | None] = {"env_a": RateLimits(rate=0.001, burst=1)}
    usage = plans(limits, clock)
    key = usage_key("env_a")
    assert usage.admit(key) is None
    assert usage.admit(key) is THROTTLED
    limits["env_a"] = RateLimits(rate=0.001, burst=5)
    assert usage.admit(key) is THROTTLED  # read less than a second ago
    clock.now += 1.5
    assert usage.admit(key) is None


@pytest.mark.parametrize("key", [None, "", "not-a-usage-key", usage_key("env_gone")])
def test_a_key_in_no_plan_is_forbidden(key: str | None) -> None:
    usage = plans({}, Clock())
    assert usage.admit(key) is NO_USAGE_PLAN
    assert NO_USAGE_PLAN.status == 403


def test_an_environment_without_its_own_limits_gets_the_defaults(environment: str) -> None:
    from infra.local.throttle import table_limits

    assert table_limits(environment) == DEFAULT_LIMITS
    assert table_limits("env_missing") is None


@pytest.mark.parametrize(
    ("rate", "burst", "quota"),
    [(0, 1, None), (10_001, 1, None), (1, 0, None), (1, 5001, None), (1, 1, 0)],
)
def test_impossible_limits_are_refused(rate: float, burst: int, quota: int | None) -> None:
    with pytest.raises(ValueError, match="must be"):
        RateLimits(rate=rate, burst=burst, daily_quota=quota)
