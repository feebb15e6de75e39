"""Per-environment rate limits: a steady rate, a burst and an optional daily quota.

In AWS they are API Gateway usage plans (infra/usage_plans.py): the authorizer names the
environment's usage-plan API key as its `usageIdentifierKey` (the API's key source is
AUTHORIZER, so clients never see or send it), and API Gateway throttles each key with its
plan's token bucket (`rate` requests a second, `burst` at once) and counts its daily quota
(reset at 00:00 UTC). The local stack enforces the same limits itself (infra/local/throttle.py).
The environment's item keeps what was configured (shared/store/tenancy.py).
"""

from __future__ import annotations

from dataclasses import dataclass

# API Gateway's own per-account ceilings (requests a second, burst): no plan may exceed them.
MAX_RATE = 10_000.0
MAX_BURST = 5_000
MAX_DAILY_QUOTA = 10**9
# Clients told to slow down wait at least this long (Retry-After is whole seconds).
THROTTLED_RETRY_AFTER_SECONDS = 1
# API Gateway's gateway responses have static headers: a quota answer cannot say how long
# until midnight UTC, so it says an hour, and the message says when the quota resets.
QUOTA_RETRY_AFTER_SECONDS = 3600
USAGE_KEY_PREFIX = "waymark-usage-"


@dataclass(frozen=True)
class RateLimits:
    rate: float  # requests a second, sustained
    burst: int  # requests at once
    daily_quota: int | None = None  # requests a UTC day; None: no quota

    def __post_init__(self) -> None:
        problem = limits_problem(self.rate, self.burst, self.daily_quota)
        if problem:
            raise ValueError(problem)

    def describe(self) -> str:
        quota = f", {self.daily_quota:,} a day" if self.daily_quota else ", no daily quota"
        return f"{self.rate:g} requests/s, burst {self.burst}{quota}"


def usage_key(environment_id: str) -> str:
    """The value of the environment's usage-plan API key: derived from its id, so the
    authorizer needs no extra read. Not a secret: with the AUTHORIZER key source API
    Gateway ignores any key a client sends, and only the authorizer picks one."""
    return f"{USAGE_KEY_PREFIX}{environment_id}"


def environment_of_usage_key(value: str) -> str | None:
    return value.removeprefix(USAGE_KEY_PREFIX) if value.startswith(USAGE_KEY_PREFIX) else None


def limits_problem(rate: float, burst: int, daily_quota: int | None) -> str | None:
    if not 0 < rate <= MAX_RATE:
        return f"the rate must be above 0 and at most {MAX_RATE:g} requests a second"
    if not 1 <= burst <= MAX_BURST:
        return f"the burst must be between 1 and {MAX_BURST}"
    if daily_quota is not None and not 1 <= daily_quota <= MAX_DAILY_QUOTA:
        return f"the daily quota must be between 1 and {MAX_DAILY_QUOTA:,}"
    return None


# What an environment gets until someone sets its own (the stage-wide throttle of old).
DEFAULT_LIMITS = RateLimits(rate=100.0, burst=200)
