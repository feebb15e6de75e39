"""The retry schedule: exponential backoff with jitter, 12-hour steps at most, 3 days in all."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.webhooks.backoff import (
    DELIVERY_WINDOW,
    DISABLE_AFTER,
    MAX_DELAY,
    parse_retry_after,
    retry_delay,
)

START = 1_700_000_000.0
WINDOW = DELIVERY_WINDOW.total_seconds()
CAP = MAX_DELAY.total_seconds()


def schedule(seed: int, scale: float = 1.0) -> list[float]:
    """Every delay of a delivery that always fails, each retry happening on time."""
    rng, now = random.Random(seed), START
    delays: list[float] = []
    for attempt in range(1, 1000):
        delay = retry_delay(
            attempt, first_attempt_at=START, now=now, retry_after=None, rng=rng, scale=scale
        )
        if delay is None:
            return delays
        delays.append(delay)
        now += delay
    raise AssertionError("never gave up")


def test_constants() -> None:
    assert DELIVERY_WINDOW.total_seconds() == 3 * 24 * 3600
    assert MAX_DELAY.total_seconds() == 12 * 3600
    assert DISABLE_AFTER.total_seconds() == 5 * 24 * 3600
    assert isinstance(DISABLE_AFTER, timedelta)


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [
        (1, 0.0, 5.0),
        (1, 0.999, 9.995),
        (2, 0.0, 10.0),
        (3, 0.5, 30.0),
        (10, 0.0, 2560.0),
        (14, 0.0, 40960.0),
        (14, 0.5, CAP),
        (15, 0.0, CAP),
        (10_000, 0.9, CAP),
    ],
)
def test_delays_double_with_jitter_up_to_twelve_hours(
    attempt: int, jitter: float, expected: float
) -> None:
    delay = retry_delay(
        attempt, first_attempt_at=START, now=START, retry_after=None, rng=FixedRandom(jitter)
    )
    assert delay == pytest.approx(expected)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (None, 10.0),
        (0.0, 10.0),
        (3.0, 10.0),  # sooner than the backoff: the backoff wins
        (60.0, 60.0),
        (CAP, CAP),
        (CAP * 4, CAP),  # later than SQS can wait: the longest wait
        (float("inf"), CAP),
        (float("nan"), 10.0),
        (-5.0, 10.0),
    ],
)
def test_retry_after_is_honoured_within_bounds(retry_after: float | None, expected: float) -> None:
    delay = retry_delay(
        2, first_attempt_at=START, now=START, retry_after=retry_after, rng=FixedRandom(0.0)
    )
    assert delay == pytest.approx(expected)


@pytest.mark.parametrize(
    ("elapsed", "retry_after", "expected"),
    [
        (0.0, None, 5.0),
        (WINDOW - 10.0, None, 5.0),  # 5 s still fit
        (WINDOW - 4.0, None, 4.0),  # the last attempt comes at the window's end
        (WINDOW - 3600.0, 7200.0, 3600.0),  # the receiver's wait is cut at the window's end
        (WINDOW - 3600.0, 1800.0, 1800.0),
        (WINDOW, None, None),  # three days are over: give up
        (WINDOW + 1, None, None),
    ],
)
def test_no_attempt_is_later_than_three_days(
    elapsed: float, retry_after: float | None, expected: float | None
) -> None:
    delay = retry_delay(
        1,
        first_attempt_at=START,
        now=START + elapsed,
        retry_after=retry_after,
        rng=FixedRandom(0.0),
    )
    assert delay == (None if expected is None else pytest.approx(expected))


def test_scale_compresses_every_duration() -> None:
    scale = 0.001
    assert retry_delay(
        1, first_attempt_at=0, now=0, retry_after=None, rng=FixedRandom(0.0), scale=scale
    ) == pytest.approx(0.005)
    assert retry_delay(
        99, first_attempt_at=0, now=0, retry_after=None, rng=FixedRandom(0.0), scale=scale
    ) == pytest.approx(CAP * scale)
    assert retry_delay(
        1, first_attempt_at=0, now=0, retry_after=30.0, rng=FixedRandom(0.0), scale=scale
    ) == pytest.approx(0.03)
    assert (
        retry_delay(
            1,
            first_attempt_at=0,
            now=WINDOW * scale,
            retry_after=None,
            rng=FixedRandom(0.0),
            scale=scale,
        )
        is None
    )


@pytest.mark.parametrize(("attempt", "scale"), [(0, 1.0), (-1, 1.0), (1, 0.0), (1, -1.0)])
def test_invalid_arguments(attempt: int, scale: float) -> None:
    with pytest.raises(ValueError):
        retry_delay(
            attempt, first_attempt_at=0, now=0, retry_after=None, rng=random.Random(), scale=scale
        )


def test_a_typical_schedule() -> None:
    delays = schedule(seed=7)
    assert 5 <= delays[0] < 10
    assert 10 <= delays[1] < 20
    assert max(delays) == CAP
    assert 15 <= len(delays) <= 23
    assert sum(delays) == pytest.approx(WINDOW)  # the last retry is at the window's end


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    scale=st.sampled_from([1.0, 0.5, 0.01, 0.0001]),
)
def test_schedule_properties(seed: int, scale: float) -> None:
    delays = schedule(seed, scale)
    assert delays  # the first failure is always retried
    assert all(0 < d <= CAP * scale for d in delays)
    assert sum(delays) == pytest.approx(WINDOW * scale)
    # Growing, up to the cap; only the last one may be shorter (cut at the window's end).
    assert all(b >= a or b == CAP * scale for a, b in itertools.pairwise(delays[:-1]))


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    elapsed=st.floats(min_value=0, max_value=4 * WINDOW),
    retry_after=st.one_of(st.none(), st.floats(allow_nan=True)),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_any_delay_is_positive_capped_and_inside_the_window(
    attempt: int, elapsed: float, retry_after: float | None, seed: int
) -> None:
    delay = retry_delay(
        attempt,
        first_attempt_at=START,
        now=START + elapsed,
        retry_after=retry_after,
        rng=random.Random(seed),
    )
    if delay is not None:
        assert 0 < delay <= CAP
        assert elapsed + delay <= WINDOW + 1e-6  # floating-point sums of the window's end


NOW = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("120", 120.0),
        (" 0 ", 0.0),
        ("9" * 400, 1e9),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("٣", None),  # a non-ASCII digit
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:30:00 GMT", 120.0),
        ("Wed, 21 Oct 2015 07:30:00 -0000", 120.0),
        ("Wed, 21 Oct 2015 09:30:00 +0200", 120.0),
        ("Tue, 20 Oct 2015 07:28:00 GMT", 0.0),  # in the past: now
        ("Wed, 21 Oct 2015 25:61:00 GMT", None),
        ("Wed, 32 Foo 2015 07:28:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected
