"""Timestamps in the API's format: ISO 8601, UTC, milliseconds, explicit offset; and the time
an invocation has left."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime


def format_timestamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def now_iso() -> str:
    return format_timestamp(datetime.now(UTC))


def time_left(context: object | None) -> Callable[[], float]:
    """The seconds an invocation has left, asked anew on each call; without a Lambda context
    (the local stack's pollers, tests) there is no deadline."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return lambda: math.inf
    return lambda: float(remaining()) / 1000
