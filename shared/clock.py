"""Timestamps in the API's format: ISO 8601, UTC, milliseconds, explicit offset."""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def now_iso() -> str:
    return format_timestamp(datetime.now(UTC))
