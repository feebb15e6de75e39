"""Timestamps in the API's format, and the time an invocation has left."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

from shared.clock import format_timestamp, time_left


def test_timestamps_are_utc_with_milliseconds() -> None:
    moment = datetime(2026, 1, 2, 4, 5, 6, 789_999, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(moment) == "2026-01-02T03:05:06.789+00:00"
    assert format_timestamp(datetime(2026, 1, 2, tzinfo=UTC)).endswith("00:00:00.000+00:00")


def test_time_left_asks_the_context_each_time_and_is_unbounded_without_one() -> None:
    class Context:
        remaining = [1500, 250]

        def get_remaining_time_in_millis(self) -> int:
            return self.remaining.pop(0)

    left = time_left(Context())
    assert (left(), left()) == (1.5, 0.25)
    assert time_left(None)() == math.inf
    assert time_left(object())() == math.inf
