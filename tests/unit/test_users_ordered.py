"""Users ordered by name, signed_up_at or last_seen_at: pages of their ordered entries."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from functions.users.handler import lambda_handler as users_handler
from tests.unit.conftest import Invoke


@pytest.fixture
def users(environment: str) -> Invoke:
    return Invoke(users_handler, environment)


def _walk(users: Invoke, order: str, limit: int) -> list[str]:
    listed: list[str] = []
    query = f"order_by={quote(order)}&limit={limit}"
    cursor = ""
    while True:
        status, page = users("GET", "/users", query=query + cursor)
        assert status == 200, page
        listed += [u["id"] for u in page["data"]]
        if not page["has_more"]:
            return listed
        cursor = f"&starting_after={quote(page['data'][-1]['id'])}"


def _in_memory(users: Invoke, order: str) -> list[str]:
    """The same order from the path that sorts in memory (a condition every user matches)."""
    everyone = quote('{"type": "attribute", "attribute_name": "x", "operator": "empty"}')
    status, page = users(
        "GET", "/users", query=f"order_by={quote(order)}&limit=100&condition={everyone}"
    )
    assert status == 200, page
    return [u["id"] for u in page["data"]]


VALUES: dict[str, Any] = {
    "u0": "Zoë",
    "u1": "ada",
    "u2": None,
    "u3": "Ada",
    "u4": 42,
    "u5": "bob",
    "u6": None,
    "u7": -3.5,
    "u8": "ADA lovelace",
}


def test_pages_by_an_attribute_follow_its_values_then_creation_missing_values_last(
    users: Invoke,
) -> None:
    for user_id, name in VALUES.items():
        attributes = {"name": name} if name is not None else {"plan": "x"}
        assert users("POST", "/users", body={"id": user_id, "attributes": attributes})[0] == 200
    expected = ["u7", "u4", "u1", "u3", "u8", "u5", "u0", "u2", "u6"]
    assert _walk(users, "attributes.name", 2) == expected
    assert _walk(users, "attributes.name", 100) == _in_memory(users, "attributes.name")
    # Descending: everything reversed, ties (ada, Ada) newest first.
    assert _walk(users, "-attributes.name", 4) == expected[::-1]


def test_a_write_moves_the_user_and_a_delete_removes_it(users: Invoke) -> None:
    for user_id, seen in (("a", "2025-01-02T00:00:00Z"), ("b", "2025-01-03T00:00:00Z")):
        users("POST", "/users", body={"id": user_id, "attributes": {"last_seen_at": seen}})
    users("POST", "/users", body={"id": "c"})
    assert _walk(users, "-attributes.last_seen_at", 10) == ["c", "b", "a"]
    users(
        "POST", "/users", body={"id": "a", "attributes": {"last_seen_at": "2025-02-01T00:00:00Z"}}
    )
    users("POST", "/users", body={"id": "b", "attributes": {"last_seen_at": None}})
    # b and c have none now: after every value, in creation order.
    assert _walk(users, "attributes.last_seen_at", 1) == ["a", "b", "c"]
    assert users("DELETE", "/users/a")[0] == 200
    assert _walk(users, "attributes.last_seen_at", 1) == ["b", "c"]


def test_a_page_by_an_attribute_is_one_query_per_shard_and_one_batch_read(
    users: Invoke, dynamodb_calls: list[str]
) -> None:
    from shared.store import keys

    for number in range(30):
        users("POST", "/users", body={"id": f"u{number}", "attributes": {"name": f"n{number}"}})
    dynamodb_calls.clear()
    status, page = users("GET", "/users", query="order_by=attributes.name&limit=10")
    assert (status, len(page["data"]), page["has_more"]) == (200, 10, True)
    # The environment item says every user has its entries (a GetItem), then the shards.
    expected = ["BatchGetItem", "GetItem"] + ["Query"] * keys.ORDER_SHARDS
    assert sorted(dynamodb_calls) == expected


def test_an_unknown_starting_after_is_a_400(users: Invoke) -> None:
    status, body = users("GET", "/users", query="order_by=attributes.name&starting_after=nobody")
    assert status == 400 and "starting_after" in body["error"]["message"]


def test_ordered_entries_notify_nothing() -> None:
    from shared.store import keys

    entry = keys.order_entry("env", "u1", "name")
    assert keys.data_key_of(entry["PK"], entry["SK"]) is None


def test_users_written_before_entries_are_listed_and_placed_by_the_reindex(
    users: Invoke, environment: str
) -> None:
    """An environment from before ordered entries: its lists keep the in-memory path (every
    user listed) until `waymark env reindex` has placed its users, then use the entries."""
    from shared.store import dynamo, keys, user_order

    for user_id, name in VALUES.items():
        attributes = {"name": name} if name is not None else {"plan": "x"}
        users("POST", "/users", body={"id": user_id, "attributes": attributes})
    expected = _in_memory(users, "attributes.name")
    # As the version before entries left it: no entries, no mark.
    for user_id in VALUES:
        user_order.delete_entries(environment, user_id)
    dynamo.update_existing(keys.environment(environment), {}, ("order_ready",))
    assert not user_order.is_ready(environment)
    assert _walk(users, "attributes.name", 4) == expected

    assert user_order.backfill(environment, page_size=4) == len(VALUES)
    assert user_order.is_ready(environment)
    assert _walk(users, "attributes.name", 4) == expected
    assert user_order.backfill(environment) == len(VALUES)  # again: nothing changes
    assert _walk(users, "attributes.name", 100) == expected
