"""API Gateway's usage plans, as the local stack enforces them.

In AWS each environment's usage-plan key sits in a plan with its rate, burst and daily quota
(infra/usage_plans.py); API Gateway throttles the key with a token bucket and counts its
quota per UTC day. Here the limits come from the environment's item (what the CLI recorded),
re-read at most once a second, so a change applies within a second as in AWS within seconds.
The answers are the API's gateway responses (infra/gateway.py), Retry-After included.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from infra.gateway import NO_USAGE_PLAN, QUOTA_EXCEEDED, THROTTLED, GatewayAnswer
from shared.domain.rate_limits import RateLimits, environment_of_usage_key

LIMITS_TTL_SECONDS = 1.0

# The environment's limits (None: no such environment, so its key is in no plan).
LimitsLookup = Callable[[str], RateLimits | None]


@dataclass
class TokenBucket:
    """`burst` tokens at most, refilled at `rate` a second; a request takes one."""

    rate: float
    burst: int
    tokens: float
    updated: float

    @classmethod
    def full(cls, limits: RateLimits, now: float) -> TokenBucket:
        return cls(rate=limits.rate, burst=limits.burst, tokens=float(limits.burst), updated=now)

    def take(self, now: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class _Plan:
    limits: RateLimits
    read_at: float
    bucket: TokenBucket
    day: str = ""
    used: int = 0


@dataclass
class LocalUsagePlans:
    """Admits or refuses each request of a usage key, as API Gateway's usage plans do."""

    lookup: LimitsLookup
    clock: Callable[[], float] = time.monotonic
    today: Callable[[], str] = field(default=lambda: datetime.now(UTC).date().isoformat())
    _plans: dict[str, _Plan] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, usage_key: str | None) -> GatewayAnswer | None:
        """None to let the request through, or the gateway's answer refusing it."""
        environment_id = environment_of_usage_key(usage_key or "")
        if environment_id is None:
            return NO_USAGE_PLAN
        now = self.clock()
        plan = self._plan(usage_key or "", environment_id, now)
        if plan is None:
            return NO_USAGE_PLAN
        with self._lock:
            if not plan.bucket.take(now):
                return THROTTLED
            quota = plan.limits.daily_quota
            if quota is None:
                return None
            today = self.today()
            if plan.day != today:
                plan.day, plan.used = today, 0
            if plan.used >= quota:
                return QUOTA_EXCEEDED
            plan.used += 1
            return None

    def _plan(self, usage_key: str, environment_id: str, now: float) -> _Plan | None:
        with self._lock:
            plan = self._plans.get(usage_key)
            if plan is not None and now - plan.read_at < LIMITS_TTL_SECONDS:
                return plan
        limits = self.lookup(environment_id)  # outside the lock: a table read
        with self._lock:
            if limits is None:
                self._plans.pop(usage_key, None)
                return None
            plan = self._plans.get(usage_key)
            if plan is None or plan.limits != limits:
                # A new plan (or new limits): a full bucket, the day's count kept.
                kept = (plan.day, plan.used) if plan is not None else ("", 0)
                plan = _Plan(limits, now, TokenBucket.full(limits, now), *kept)
                self._plans[usage_key] = plan
            plan.read_at = now
            return plan


def table_limits(environment_id: str) -> RateLimits | None:
    """The limits recorded for an environment (the defaults when it has none of its own)."""
    from shared.store import tenancy

    environment = tenancy.get_environment(environment_id)
    return environment.effective_limits if environment is not None else None
