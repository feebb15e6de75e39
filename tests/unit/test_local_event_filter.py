"""The local stack filters stream records as the CDK's event source mappings do."""

from __future__ import annotations

from typing import Any

import pytest

from functions.cascade.handler import PURGE_FILTER
from functions.webhook_dispatch.handler import DISPATCH_FILTER
from infra.local.event_filter import matches


def record(sort_key: str, event_name: str = "INSERT") -> dict[str, Any]:
    return {
        "eventName": event_name,
        "dynamodb": {"Keys": {"PK": {"S": "E#e#U#1"}, "SK": {"S": sort_key}}},
    }


@pytest.mark.parametrize(
    ("sort_key", "dispatched"),
    [
        ("U", True),
        ("G", True),
        ("EV#01", True),
        ("M#g", False),
        ("B#0001#d", False),
        ("S#1", False),
        ("IDEM", False),  # an Idempotency-Key record: claiming or answering notifies nothing
    ],
)
def test_dispatch_gets_users_groups_and_events_only(sort_key: str, dispatched: bool) -> None:
    assert matches(DISPATCH_FILTER, record(sort_key)) is dispatched


@pytest.mark.parametrize(
    ("sort_key", "event_name", "purged"),
    [
        ("PURGE#1", "INSERT", True),
        ("PURGE#1", "REMOVE", False),
        ("U", "INSERT", False),
        ("IDEM", "INSERT", False),
    ],
)
def test_the_cascade_gets_new_purge_jobs_only(sort_key: str, event_name: str, purged: bool) -> None:
    assert matches(PURGE_FILTER, record(sort_key, event_name)) is purged


def test_a_missing_field_never_matches_and_unknown_rules_are_refused() -> None:
    assert not matches(DISPATCH_FILTER, {"eventName": "INSERT"})
    with pytest.raises(ValueError, match="unsupported"):
        matches({"eventName": [{"anything-but": ["REMOVE"]}]}, {"eventName": "INSERT"})
