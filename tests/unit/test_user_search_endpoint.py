"""GET /users/search through the users handler (moto): what matches, in which order, once."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from functions.users.handler import lambda_handler
from shared.domain import limits
from tests.unit.conftest import Invoke


@pytest.fixture
def call(environment: str) -> Invoke:
    invoke = Invoke(lambda_handler, environment)
    for user_id, attributes in [
        ("ann-1", {"name": "Ann Lee", "email": "ann@acme.io"}),
        ("bob", {"name": "Annika Bo", "email": "BOB@acme.io"}),
        ("cyd", {"name": "Cyd", "email": "cyd@annex.org"}),
        ("ANNE", {"name": 7}),  # a number `name` is not searched
        ("dan", {"email": "dan@acme.io"}),
    ]:
        status, _ = invoke("POST", "/users", body={"id": user_id, "attributes": attributes})
        assert status == 200
    return invoke


def search(call: Invoke, query: str) -> tuple[int, Any]:
    return call("GET", "/users/search", query=query)


def ids(page: dict[str, Any]) -> list[str]:
    return [user["id"] for user in page["data"]]


def test_prefix_of_id_email_or_name_in_any_case(call: Invoke) -> None:
    status, page = search(call, "q=ANN")
    assert status == 200
    # In index order of the matching text: ann-1 (id), ann@acme.io, "ann lee" -> listed once
    # at "ann-1"; "anne" (id); "annika bo" (name).
    assert ids(page) == ["ann-1", "ANNE", "bob"]
    assert page["object"] == "list" and page["has_more"] is False
    assert page["data"][0]["object"] == "user"
    assert ids(search(call, "q=bob%40")[1]) == ["bob"]
    assert ids(search(call, "q=cyd%40annex")[1]) == ["cyd"]
    assert ids(search(call, "q=zz")[1]) == []


def test_pages_follow_next_page_url_without_repeating_a_user(call: Invoke) -> None:
    seen: list[str] = []
    status, page = search(call, "q=a&limit=1")
    while True:
        assert status == 200
        seen += ids(page)
        if not page["has_more"]:
            break
        query = urlsplit(page["next_page_url"]).query
        assert parse_qs(query)["q"] == ["a"]
        status, page = search(call, query)
    assert seen == ["ann-1", "ANNE", "bob"]


def test_a_changed_name_is_found_by_its_new_value_only(call: Invoke) -> None:
    call("POST", "/users", body={"id": "cyd", "attributes": {"name": "Zoe"}})
    assert ids(search(call, "q=zo")[1]) == ["cyd"]
    call("POST", "/users", body={"id": "cyd", "attributes": {"name": None}})
    assert ids(search(call, "q=zo")[1]) == []
    assert ids(search(call, "q=cy")[1]) == ["cyd"]  # still by its id and email


def test_a_deleted_user_is_not_found_and_the_same_id_made_again_is(call: Invoke) -> None:
    assert call("DELETE", "/users/bob")[0] == 200
    assert ids(search(call, "q=annika")[1]) == []
    call("POST", "/users", body={"id": "bob", "attributes": {"name": "Annika"}})
    assert ids(search(call, "q=annika")[1]) == ["bob"]


def test_search_expands_like_every_user_list(call: Invoke) -> None:
    call("POST", "/users", body={"id": "dan", "groups": [{"id": "acme"}]})
    status, page = search(call, "q=dan&expand=groups")
    assert status == 200
    assert [g["id"] for g in page["data"][0]["groups"]] == ["acme"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "`q` is required"),
        ("q=%09", "Invalid `q`"),
        ("q=a&starting_after=bm90LWEtY3Vyc29y", "Invalid `starting_after`"),
        ("q=a&order_by=created_at", "Invalid `order_by`"),
        ("q=a&limit=0", "Invalid `limit`"),
    ],
)
def test_bad_searches_are_400s_naming_the_parameter(call: Invoke, query: str, message: str) -> None:
    status, body = search(call, query)
    assert status == 400
    assert message in body["error"]["message"]


def test_a_cursor_of_another_search_is_refused(call: Invoke) -> None:
    _, page = search(call, "q=a&limit=1")
    cursor = parse_qs(urlsplit(page["next_page_url"]).query)["starting_after"][0]
    status, body = search(call, f"q=c&starting_after={cursor}")
    assert status == 400
    assert "another `q`" in body["error"]["message"]


def test_the_id_search_is_reserved_and_other_methods_reach_user_ids(call: Invoke) -> None:
    status, body = call("POST", "/users", body={"id": "search"})
    assert status == 400
    assert "reserved" in body["error"]["message"]
    assert "search" in limits.RESERVED_USER_IDS
    # DELETE on the path is still the user route (the search answers GET only).
    assert call("DELETE", "/users/search")[0] == 200
