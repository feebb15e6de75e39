"""Condition filtering, segments, group filters and attribute ordering on user lists (moto)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from functions.segments.handler import lambda_handler as segments_handler
from functions.users.handler import lambda_handler as users_handler
from shared.services import finder
from tests.unit.conftest import Invoke


@pytest.fixture
def users(environment: str) -> Invoke:
    call = Invoke(users_handler, environment)
    call(
        "POST",
        "/users",
        body={
            "id": "ann",
            "attributes": {"plan": "Pro", "widget_count": 12, "name": "Ann"},
            "memberships": [
                {
                    "attributes": {"role": "admin"},
                    "group": {"id": "acme", "attributes": {"plan": "Pro"}},
                }
            ],
        },
    )
    call(
        "POST",
        "/users",
        body={
            "id": "bob",
            "attributes": {"plan": "Pro", "widget_count": 3, "name": "bob"},
            "memberships": [
                {
                    "attributes": {"role": "member"},
                    "group": {"id": "initech", "attributes": {"plan": "Free"}},
                }
            ],
        },
    )
    call(
        "POST",
        "/users",
        body={
            "id": "cyd",
            "attributes": {"plan": "Free", "name": "Cyd"},
            "memberships": [{"attributes": {"role": "member"}, "group": {"id": "acme"}}],
        },
    )
    return call


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]


def condition(value: dict[str, Any]) -> str:
    return "condition=" + quote(json.dumps(value))


def test_filter_on_a_user_attribute(users: Invoke) -> None:
    _, page = users(
        "GET",
        "/users",
        query=condition(
            {"type": "attribute", "attribute_name": "plan", "operator": "eq", "value": "Pro"}
        ),
    )
    assert ids(page) == ["ann", "bob"]


def test_and_clause_from_the_reference(users: Invoke) -> None:
    _, page = users(
        "GET",
        "/users",
        query=condition(
            {
                "type": "clause",
                "operator": "and",
                "conditions": [
                    {
                        "type": "attribute",
                        "attribute_name": "plan",
                        "operator": "eq",
                        "value": "Pro",
                    },
                    {
                        "type": "attribute",
                        "attribute_name": "widget_count",
                        "operator": "gte",
                        "value": 10,
                    },
                ],
            }
        ),
    )
    assert ids(page) == ["ann"]


def test_filter_on_group_and_membership_attributes(users: Invoke) -> None:
    _, page = users(
        "GET",
        "/users",
        query=condition(
            {"type": "attribute", "attribute_name": "group/plan", "operator": "eq", "value": "Pro"}
        ),
    )
    assert ids(page) == ["ann", "cyd"]
    _, page = users(
        "GET",
        "/users",
        query=condition(
            {
                "type": "clause",
                "operator": "and",
                "conditions": [
                    {
                        "type": "attribute",
                        "attribute_name": "group/plan",
                        "operator": "eq",
                        "value": "Pro",
                    },
                    {
                        "type": "attribute",
                        "attribute_name": "group_membership/role",
                        "operator": "eq",
                        "value": "member",
                    },
                ],
            }
        ),
    )
    assert ids(page) == ["cyd"]


def test_bad_conditions_are_400s(users: Invoke) -> None:
    status, body = users("GET", "/users", query="condition=%7Bnot-json")
    assert status == 400 and "condition" in body["error"]["message"]
    status, body = users(
        "GET",
        "/users",
        query=condition(
            {"type": "attribute", "attribute_name": "plan", "operator": "equals", "value": "x"}
        ),
    )
    assert status == 400 and "operator" in body["error"]["message"]


def test_a_rare_match_is_paged_to_within_the_examine_budget(
    users: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finder, "FILTER_EXAMINE_BUDGET", 2)
    free = condition(
        {"type": "attribute", "attribute_name": "plan", "operator": "eq", "value": "Free"}
    )
    status, page = users("GET", "/users", query=free)
    # ann and bob were examined and did not match: an empty page that says to go on after bob
    assert (status, ids(page), page["has_more"]) == (200, [], True)
    assert page["next_page_url"].endswith("&starting_after=bob")
    _, page = users("GET", "/users", query=f"{free}&starting_after=bob")
    assert (ids(page), page["has_more"]) == (["cyd"], False)


def test_a_group_condition_examines_fewer_users_per_request(
    users: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finder, "FILTER_EXAMINE_BUDGET_WITH_MEMBERSHIPS", 1)
    free_group = condition(
        {"type": "attribute", "attribute_name": "group/plan", "operator": "eq", "value": "Free"}
    )
    _, page = users("GET", "/users", query=free_group)
    assert (ids(page), page["has_more"]) == ([], True)
    _, page = users("GET", "/users", query=f"{free_group}&starting_after=ann")
    assert (ids(page), page["has_more"]) == (["bob"], True)


def test_sorting_more_users_than_the_read_budget_with_a_condition_is_a_400(
    users: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finder, "SORT_READ_BUDGET", 2)
    pro = condition(
        {"type": "attribute", "attribute_name": "plan", "operator": "eq", "value": "Pro"}
    )
    status, body = users("GET", "/users", query=f"order_by=attributes.name&{pro}")
    assert status == 400
    assert "order_by" in body["error"]["message"] and "created_at" in body["error"]["message"]


def test_ordering_by_an_ordered_attribute_without_a_filter_has_no_read_budget(
    users: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finder, "SORT_READ_BUDGET", 2)
    status, page = users("GET", "/users", query="order_by=attributes.name")
    assert (status, ids(page)) == (200, ["ann", "bob", "cyd"])


def test_group_id_filter_and_attribute_ordering(users: Invoke) -> None:
    _, page = users("GET", "/users", query="group_id=acme")
    assert ids(page) == ["ann", "cyd"]
    _, page = users("GET", "/users", query="order_by=-attributes.name")
    assert ids(page) == ["cyd", "bob", "ann"]
    _, page = users("GET", "/users", query="order_by=attributes.name&limit=2")
    assert ids(page) == ["ann", "bob"]
    assert page["next_page_url"] == "/users?order_by=attributes.name&limit=2&starting_after=bob"
    _, page = users("GET", "/users", query="order_by=attributes.name&limit=2&starting_after=bob")
    assert ids(page) == ["cyd"] and page["has_more"] is False


def test_segments_crud_and_filtering_users(users: Invoke, environment: str) -> None:
    segments = Invoke(segments_handler, environment)
    pro = {"type": "attribute", "attribute_name": "plan", "operator": "eq", "value": "Pro"}
    status, segment = segments("POST", "/segments", body={"name": "Pro users", "condition": pro})
    assert status == 200
    assert segment["object"] == "segment" and segment["condition"] == pro
    _, page = users("GET", "/users", query=f"segment_id={segment['id']}")
    assert ids(page) == ["ann", "bob"]
    free = {**pro, "value": "Free"}
    _, patched = segments("PATCH", f"/segments/{segment['id']}", body={"condition": free})
    assert patched["name"] == "Pro users" and patched["condition"] == free
    _, page = users("GET", "/users", query=f"segment_id={segment['id']}")
    assert ids(page) == ["cyd"]
    assert ids(segments("GET", "/segments")[1]) == [segment["id"]]
    assert segments("DELETE", f"/segments/{segment['id']}")[1]["deleted"] is True
    assert segments("GET", f"/segments/{segment['id']}")[0] == 404
    status, body = users("GET", "/users", query=f"segment_id={segment['id']}")
    assert status == 400 and "segment_id" in body["error"]["message"]
    status, body = segments("POST", "/segments", body={"name": "x", "condition": {"type": "?"}})
    assert status == 400 and "condition" in body["error"]["message"]
