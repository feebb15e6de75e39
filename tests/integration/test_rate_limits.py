"""Per-environment rate limits on the local stack, as API Gateway's usage plans enforce them:
one environment over its limit gets 429s in the API's envelope with Retry-After; the others
do not notice."""

from __future__ import annotations

import time

from shared.domain.rate_limits import RateLimits
from tests.integration.conftest import ApiClient, NewEnvironment


def _limit(client: ApiClient, limits: RateLimits) -> None:
    from shared.store import tenancy

    assert tenancy.set_rate_limits(client.environment, limits) is not None


def test_over_its_burst_an_environment_gets_429_with_retry_after(
    new_environment: NewEnvironment,
) -> None:
    limited = new_environment("Limited")
    # One request every ~17 minutes after a burst of two: the third is refused.
    _limit(limited, RateLimits(rate=0.001, burst=2))
    assert [limited.request("GET", "/users").status for _ in range(2)] == [200, 200]
    refused = limited.request("GET", "/users")
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "1"
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["request_id"] == refused.headers["x-amzn-RequestId"]


def test_one_environment_over_its_limit_does_not_slow_another(
    new_environment: NewEnvironment,
) -> None:
    limited, other = new_environment("Limited"), new_environment("Other")
    _limit(limited, RateLimits(rate=0.001, burst=1))
    assert limited.request("GET", "/users").status == 200
    assert limited.request("GET", "/users").status == 429
    assert [other.request("GET", "/users").status for _ in range(5)] == [200] * 5


def test_past_its_daily_quota_an_environment_waits_for_the_next_utc_day(
    new_environment: NewEnvironment,
) -> None:
    limited = new_environment("Quota")
    _limit(limited, RateLimits(rate=1000, burst=1000, daily_quota=3))
    assert [limited.request("GET", "/users").status for _ in range(3)] == [200] * 3
    refused = limited.request("GET", "/users")
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "00:00 UTC" in refused.json()["error"]["message"]


def test_a_refused_request_changes_nothing(new_environment: NewEnvironment) -> None:
    limited = new_environment("Limited")
    _limit(limited, RateLimits(rate=0.001, burst=1))
    assert limited.request("POST", "/users", json={"id": "first"}).status == 200
    assert limited.request("POST", "/users", json={"id": "second"}).status == 429
    _limit(limited, RateLimits(rate=1000, burst=1000))
    # New limits apply within a second (the local stack re-reads them at most once a second).
    deadline = time.monotonic() + 10
    while limited.request("GET", "/users/second").status == 429:
        assert time.monotonic() < deadline, "new limits never applied"
        time.sleep(0.2)
    assert limited.request("GET", "/users/second").status == 404
