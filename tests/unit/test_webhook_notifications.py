"""Notifications from table stream images, as the reference's notification examples show them."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from shared.store import keys
from shared.webhooks.from_stream import notifications_from_change
from shared.webhooks.notifications import Notification, notification_body

ENV = "env_1a2b3c"
AT = "2022-11-29T12:34:56.000+00:00"
CREATED = "2022-10-17T12:34:56.000+00:00"
RECORD = "5b1d3c0f8e9a7d6c5b4a3f2e1d0c9b8a"


def user_item(attributes: dict[str, Any], user_id: str = "4738382", **extra: Any) -> dict[str, Any]:
    """A user item as a stream image carries it: numbers are Decimals, bookkeeping included."""
    return {
        **keys.user(ENV, user_id),
        "id": user_id,
        "created_at": CREATED,
        "v": Decimal(3),
        "GSI1PK": keys.users_listing(ENV),
        "GSI1SK": f"{CREATED}#{user_id}",
        **{f"a#{name}": value for name, value in attributes.items()},
        **extra,
    }


def group_item(attributes: dict[str, Any], group_id: str = "acme") -> dict[str, Any]:
    return {
        **keys.group(ENV, group_id),
        "id": group_id,
        "created_at": CREATED,
        "v": Decimal(1),
        **{f"a#{name}": value for name, value in attributes.items()},
    }


def event_item(user_id: str | None = "u1", group_id: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        **keys.event(ENV, user_id, group_id, "01HQZX"),
        "id": "01HQZX",
        "name": "subscription_activated",
        "time": AT,
        "created_at": AT,
        "attributes": {"plan_name": "plus", "plan_price": Decimal("199"), "ratio": Decimal("0.5")},
        "GSI1PK": keys.events_listing(ENV),
        "GSI1SK": "01HQZX",
    }
    if user_id:
        item["user_id"] = user_id
    if group_id:
        item["group_id"] = group_id
    return item


def change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Notification]:
    return notifications_from_change(RECORD, old, new, AT)


def only(notifications: list[Notification]) -> Notification:
    assert len(notifications) == 1
    return notifications[0]


def test_a_new_user_is_user_created() -> None:
    new = user_item({"email": "annabelle@example.com", "project_count": Decimal(17)})
    n = only(change(None, new))
    assert n.topic == "user.created"
    assert n.environment_id == ENV
    assert n.created_at == AT
    assert n.data == {
        "object": {
            "id": "4738382",
            "object": "user",
            "attributes": {"email": "annabelle@example.com", "project_count": 17},
            "created_at": CREATED,
            "groups": None,
            "memberships": None,
        }
    }
    assert type(n.data["object"]["attributes"]["project_count"]) is int


def test_an_updated_user_carries_only_the_changed_attributes() -> None:
    old = user_item(
        {
            "email": "annabelle@example.com",
            "email_verified": False,
            "name": "Annabelle Terry",
            "project_count": Decimal(14),
        }
    )
    new = user_item(
        {
            "email": "annabelle@example.com",
            "email_verified": True,
            "name": "Annabelle Terry",
            "project_count": Decimal(17),
        },
        v=Decimal(4),
    )
    n = only(change(old, new))
    assert n.topic == "user.updated"
    assert n.data["object"]["attributes"]["project_count"] == 17
    assert n.data["previous_attributes"] == {"email_verified": False, "project_count": 14}
    assert n.data["updated_attributes"] == {"email_verified": True, "project_count": 17}


@pytest.mark.parametrize(
    ("before", "after", "previous", "updated"),
    [
        ({"plan": "free"}, {}, {"plan": "free"}, {"plan": None}),  # removed
        ({}, {"plan": "pro"}, {"plan": None}, {"plan": "pro"}),  # added
        ({"n": Decimal(1)}, {"n": "1"}, {"n": 1}, {"n": "1"}),  # number to string
        ({"n": Decimal(1)}, {"n": True}, {"n": 1}, {"n": True}),  # 1 == True in Python
        ({"n": Decimal(0)}, {"n": False}, {"n": 0}, {"n": False}),
        ({"n": Decimal("1.5")}, {"n": Decimal("2.5")}, {"n": 1.5}, {"n": 2.5}),
        ({"tags": ["a", "b"]}, {"tags": ["b", "a"]}, {"tags": ["a", "b"]}, {"tags": ["b", "a"]}),
        ({"tags": ["a"]}, {"tags": ["a", "c"]}, {"tags": ["a"]}, {"tags": ["a", "c"]}),
        ({"tags": ["a"]}, {"tags": "a"}, {"tags": ["a"]}, {"tags": "a"}),
        (
            {"a": "x", "b": "same", "c": Decimal(3)},
            {"b": "same", "c": Decimal(4), "d": "new"},
            {"a": "x", "c": 3, "d": None},
            {"a": None, "c": 4, "d": "new"},
        ),
    ],
)
def test_updated_attribute_diffs(
    before: dict[str, Any],
    after: dict[str, Any],
    previous: dict[str, Any],
    updated: dict[str, Any],
) -> None:
    n = only(change(user_item(before), user_item(after)))
    assert n.topic == "user.updated"
    assert n.data["previous_attributes"] == previous
    assert n.data["updated_attributes"] == updated
    assert json.dumps(n.data["previous_attributes"]) == json.dumps(previous)
    assert json.dumps(n.data["updated_attributes"]) == json.dumps(updated)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({}, {}),
        ({"plan": "pro"}, {"plan": "pro"}),
        ({"n": Decimal(1)}, {"n": Decimal("1.0")}),
        ({"tags": ["a", "b"]}, {"tags": ["a", "b"]}),
    ],
)
def test_writes_that_change_no_attribute_send_nothing(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    old = user_item(before)
    new = user_item(after, v=Decimal(9), GSI2PK=f"E#{ENV}#EMAIL#x@example.com")
    assert change(old, new) == []


def test_deletions_send_nothing() -> None:
    assert change(user_item({"plan": "pro"}), None) == []
    assert change(group_item({"plan": "pro"}), None) == []
    assert change(event_item(), None) == []
    assert change(None, None) == []


def test_groups_are_created_and_updated() -> None:
    created = only(change(None, group_item({"name": "Acme"})))
    assert created.topic == "group.created"
    assert created.data == {
        "object": {
            "id": "acme",
            "object": "group",
            "attributes": {"name": "Acme"},
            "created_at": CREATED,
            "memberships": None,
            "users": None,
        }
    }
    updated = only(change(group_item({"name": "Acme"}), group_item({"name": "Acme Inc"})))
    assert updated.topic == "group.updated"
    assert updated.data["previous_attributes"] == {"name": "Acme"}
    assert updated.data["updated_attributes"] == {"name": "Acme Inc"}
    assert change(group_item({"name": "Acme"}), group_item({"name": "Acme"})) == []


@pytest.mark.parametrize(("user_id", "group_id"), [("u1", None), ("u1", "acme"), (None, "acme")])
def test_a_tracked_event_is_event_tracked_with_its_name(
    user_id: str | None, group_id: str | None
) -> None:
    n = only(change(None, event_item(user_id, group_id)))
    assert n.topic == "event.tracked.subscription_activated"
    assert n.environment_id == ENV
    assert n.data == {
        "object": {
            "id": "01HQZX",
            "object": "event",
            "attributes": {"plan_name": "plus", "plan_price": 199, "ratio": 0.5},
            "created_at": AT,
            "group": None,
            "group_id": group_id,
            "name": "subscription_activated",
            "time": AT,
            "user": None,
            "user_id": user_id,
        }
    }


def test_a_modified_event_sends_nothing() -> None:
    assert change(event_item(), event_item()) == []


@pytest.mark.parametrize(
    "item",
    [
        {**keys.membership(ENV, "u1", "acme"), "id": "m", "created_at": CREATED},
        {**keys.attribute_definition(ENV, "user", "plan"), "name": "plan"},
        {**keys.event_definition(ENV, "signed_up"), "name": "signed_up"},
        {**keys.api_key("abc"), "environment_id": ENV},
        {**keys.environment(ENV), "name": "Production"},
        {**keys.segment(ENV, "s1"), "id": "s1"},
        {"PK": keys.purge_jobs(ENV), "SK": "JOB#1"},
        {"PK": f"E#{ENV}#WH#sub_1", "SK": "WH"},
        {"PK": f"E#{ENV}#WH#sub_1", "SK": "U"},  # a "U" outside a user partition
        {"PK": f"E#{ENV}#SEG#s1", "SK": "EV#1"},
        {"PK": "E#", "SK": "U"},
        {"PK": "KEY#x", "SK": "U"},
        {"SK": "U"},
        {"PK": 1, "SK": "U"},
        {},
    ],
)
def test_other_items_send_nothing(item: dict[str, Any]) -> None:
    assert change(None, item) == []
    assert change(item, item) == []


def test_user_ids_with_hashes_keep_the_environment() -> None:
    n = only(change(None, user_item({}, user_id="a#b#c")))
    assert n.environment_id == ENV
    assert n.data["object"]["id"] == "a#b#c"


def test_ids_are_deterministic_per_stream_record_and_topic() -> None:
    new = user_item({"plan": "pro"})
    first = only(notifications_from_change(RECORD, None, new, AT))
    replayed = only(notifications_from_change(RECORD, None, new, "2030-01-01T00:00:00.000+00:00"))
    other = only(notifications_from_change("another-record", None, new, AT))
    assert first.id == replayed.id
    assert first.id != other.id
    assert uuid.UUID(first.id).version == 5
    updated = only(notifications_from_change(RECORD, user_item({}), new, AT))
    assert updated.id != first.id  # same record id, other topic


def test_notification_body_is_the_references_notification_object() -> None:
    n = only(change(None, event_item()))
    body = notification_body(n, "2020-01-03")
    assert b" " not in body.replace(b"subscription_activated", b"")
    parsed = json.loads(body)
    assert list(parsed) == ["id", "object", "api_version", "created_at", "data", "topic"]
    assert parsed == {
        "id": n.id,
        "object": "webhook_notification",
        "api_version": "2020-01-03",
        "created_at": AT,
        "data": n.data,
        "topic": "event.tracked.subscription_activated",
    }


def test_notification_body_is_utf8_json() -> None:
    n = only(change(None, user_item({"name": "Zoë 😀"})))
    body = notification_body(n, "2020-01-03")
    assert "Zoë 😀".encode() in body
    assert json.loads(body.decode("utf-8"))["data"]["object"]["attributes"] == {"name": "Zoë 😀"}


def test_string_sets_become_sorted_lists() -> None:
    n = only(change(None, user_item({"tags": {"b", "a"}})))
    assert n.data["object"]["attributes"] == {"tags": ["a", "b"]}
