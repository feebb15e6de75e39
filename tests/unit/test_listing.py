"""Pagination, ordering, expansion and the list object, shared by every list."""

from __future__ import annotations

import pytest

from shared.domain.errors import InvalidInput
from shared.http.errors import BadRequest
from shared.http.listing import ListSpec, OrderField, list_object, parse_expand, parse_list_query

SPEC = ListSpec(
    object_type="user",
    order_fields=frozenset({"created_at", "attributes.name"}),
    filters=frozenset({"email"}),
)


def test_defaults() -> None:
    query = parse_list_query({}, SPEC)
    assert query.limit == 10
    assert query.starting_after is None
    assert query.order_by == (OrderField("created_at"),)
    assert query.expand == ()
    assert query.filters == {}


def test_order_by_single_array_and_descending() -> None:
    assert parse_list_query({"order_by": ["-created_at"]}, SPEC).order_by == (
        OrderField("created_at", descending=True),
    )
    query = parse_list_query({"order_by[]": ["attributes.name", "created_at"]}, SPEC)
    assert query.order_by == (OrderField("attributes.name"), OrderField("created_at"))


def test_expand_accepts_arrays_and_dotted_paths() -> None:
    query = parse_list_query({"expand[]": ["memberships.group", "groups"]}, SPEC)
    assert query.expand == ("memberships.group", "groups")


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"limit": ["0"]}, "limit"),
        ({"limit": ["101"]}, "limit"),
        ({"limit": ["ten"]}, "limit"),
        ({"limit": ["1", "2"]}, "limit"),
        ({"starting_after": [""]}, "starting_after"),
        ({"order_by": ["email"]}, "order_by"),
        ({"order_by[]": ["created_at", "-created_at"]}, "order_by"),
        ({"starting_after": ["x" * 481]}, "starting_after"),
        ({"expand[]": ["groups"] * 101}, "expand"),
        ({"expand": ["friends"]}, "expand"),
        ({"expand": ["memberships.group.memberships.group.users"]}, "expand"),
        ({"email": ["a@example.com", "b@example.com"]}, "email"),
    ],
)
def test_bad_parameters_are_400s_naming_the_parameter(
    params: dict[str, list[str]], named: str
) -> None:
    with pytest.raises((BadRequest, InvalidInput)) as error:
        parse_list_query(params, SPEC)
    assert named in str(error.value)


def test_expand_up_to_four_levels() -> None:
    path = "memberships.group.memberships.user"
    assert parse_expand({"expand": [path]}, "user") == (path,)


def test_undocumented_parameters_are_ignored_as_the_hosted_api_does() -> None:
    query = parse_list_query({"sort": ["asc"], "colour": ["red"], "limit": ["5"]}, SPEC)
    assert query.limit == 5 and query.filters == {}
    assert parse_expand({"limit": ["5"], "sort": ["asc"]}, "user") == ()


def test_list_object_keeps_other_parameters_in_next_page_url() -> None:
    params = {"email": ["a@example.com"], "starting_after": ["u1"], "limit": ["2"]}
    listing = list_object(
        [{"id": "u2"}, {"id": "u3"}], has_more=True, path="/users", params=params, last_id="u3"
    )
    assert listing == {
        "object": "list",
        "data": [{"id": "u2"}, {"id": "u3"}],
        "has_more": True,
        "url": "/users?email=a%40example.com&starting_after=u1&limit=2",
        "next_page_url": "/users?email=a%40example.com&limit=2&starting_after=u3",
    }


def test_next_page_url_is_set_even_on_the_last_page() -> None:
    listing = list_object([], has_more=False, path="/users", params={}, last_id=None)
    assert listing["next_page_url"] == "/users"
    listing = list_object([{"id": "u9"}], has_more=False, path="/users", params={}, last_id="u9")
    assert listing["next_page_url"] == "/users?starting_after=u9"
