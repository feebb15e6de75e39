"""When to retry a failed delivery: exponential backoff with jitter inside a 3-day window.

The reference promises retries "using exponential backoff" and giving up after 3 days. A retry
waits in SQS (ChangeMessageVisibility), whose longest wait is 12 hours, so no single delay is
longer. `scale` compresses the whole schedule for tests; it is 1 in every real deployment.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime

DELIVERY_WINDOW = timedelta(days=3)
MAX_DELAY = timedelta(hours=12)
# A subscription whose deliveries have all failed for this long is disabled.
DISABLE_AFTER = timedelta(days=5)
FIRST_DELAY = 5.0  # the first retry comes 5-10 s after the first failure
# A failing receiver is probed on the same doubling schedule, but at least hourly: one request
# an hour costs nothing, and a receiver that comes back gets its backlog within the hour.
MAX_PROBE_DELAY = timedelta(hours=1)
_LONGEST_RETRY_AFTER = 10**9  # seconds; any longer wait is capped anyway
_MAX_EXPONENT = 32  # 5 s * 2**32 is far past the cap; keeps the arithmetic finite


def retry_delay(
    attempt: int,
    *,
    first_attempt_at: float,
    now: float,
    retry_after: float | None,
    rng: random.Random,
    scale: float = 1.0,
) -> float | None:
    """Seconds to wait after failed attempt number `attempt` (1-based), or None to give up.

    Attempt n waits between 5 * 2**(n-1) and twice that (jitter spreads retries of many
    deliveries that failed together), at most 12 hours. A receiver's Retry-After is honoured
    when it asks for longer than that (up to the 12-hour cap). No attempt is later than 3 days
    after `first_attempt_at`: the last one comes at the end of that window, then none.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, not {attempt}")
    if not scale > 0 or not math.isfinite(scale):
        raise ValueError(f"scale must be a positive number, not {scale}")
    cap = MAX_DELAY.total_seconds() * scale
    base = FIRST_DELAY * scale * 2.0 ** min(attempt - 1, _MAX_EXPONENT)
    delay = min(base * (1.0 + rng.random()), cap)
    if retry_after is not None and not math.isnan(retry_after):
        delay = max(delay, min(retry_after * scale, cap))
    # The last retry lands at the window's end rather than being skipped for being too late.
    remaining = first_attempt_at + DELIVERY_WINDOW.total_seconds() * scale - now
    if remaining <= 0:
        return None
    return min(delay, remaining)


def probe_delay(probe: int, *, rng: random.Random, scale: float = 1.0) -> float:
    """Seconds until probe number `probe` (1-based) of a receiver whose circuit is open: the
    retry schedule's doubling with jitter, capped at `MAX_PROBE_DELAY`. No window: the
    notifications in the backlog each keep their own."""
    if probe < 1:
        raise ValueError(f"probe must be 1 or more, not {probe}")
    if not scale > 0 or not math.isfinite(scale):
        raise ValueError(f"scale must be a positive number, not {scale}")
    base = FIRST_DELAY * scale * 2.0 ** min(probe - 1, _MAX_EXPONENT)
    return min(base * (1.0 + rng.random()), MAX_PROBE_DELAY.total_seconds() * scale)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """A Retry-After header (delta-seconds or an HTTP-date) as seconds from `now`; None when
    absent or unreadable. A date in the past means "now" (0)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(min(int(text), _LONGEST_RETRY_AFTER))
    try:
        moment = parsedate_to_datetime(text)
        if moment.tzinfo is None:  # "-0000": UTC, by RFC 5322
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, moment.timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
