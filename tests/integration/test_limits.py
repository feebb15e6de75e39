"""Every input gets an answer (issue 14): ids of any shape, limits in bytes, no partial writes.

Through HTTP, against DynamoDB Local: generated ids and attribute values, and one test for
each case that once answered 500 or the wrong thing.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shared.domain import limits
from shared.store import dynamo, keys
from tests.integration.conftest import ApiClient, NewEnvironment

# Bounded: each example is a handful of HTTP requests (the suite must stay quick).
THROUGH_HTTP = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def utf8_json(body: Any) -> dict[str, Any]:
    """Request options sending `body` as JSON in UTF-8 (not \\u-escaped): its size in bytes is
    then what is stored, as a client sending raw UTF-8 would."""
    return {
        "body": json.dumps(body, ensure_ascii=False).encode(),
        "headers": {"Content-Type": "application/json"},
    }


def path_of(object_id: str) -> str:
    """An id as a client puts it in a URL path: percent-encoded, like encodeURIComponent."""
    return quote(object_id, safe="")


RESERVED = ":/?#[]@!$&'()*+,;=% \"<>\\^`{|}~."
ids = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.sampled_from(RESERVED), min_size=1, max_size=12),
    st.integers(470, 490).map(lambda n: "x" * n),
    st.integers(155, 165).map(lambda n: "€" * n),  # 3 bytes each: 160 is the limit
    st.integers(115, 125).map(lambda n: "😀" * n),  # 4 bytes each: 120 is the limit
    st.sampled_from([".", "..", "a/b", "", " ", "%", "%2F", "\x00", "\x7f", "é\u0301", "\ufeff"]),
)


@pytest.fixture(scope="module")
def shared_api(local_stack: Any) -> ApiClient:
    """One environment for a property test's many examples (each cleans up after itself)."""
    from shared.store import tenancy

    environment = tenancy.create_environment("Limits")
    _, plain_key = tenancy.create_api_key(environment.id)
    return ApiClient(local_stack.url, plain_key, environment.id)


@THROUGH_HTTP
@given(object_id=ids)
def test_any_user_id_round_trips_or_is_refused_with_a_400(
    shared_api: ApiClient, object_id: str
) -> None:
    api = shared_api
    created = api.request("POST", "/users", json={"id": object_id})
    event(f"answered {created.status}")
    if limits.id_problem(object_id) is not None:
        assert created.status == 400, created.text
        assert "`id`" in created.json()["error"]["message"]
        if object_id:
            assert 400 <= api.request("GET", f"/users/{path_of(object_id)}").status < 500
        return
    assert created.status == 200, created.text
    assert created.json()["id"] == object_id
    got = api.request("GET", f"/users/{path_of(object_id)}")
    assert (got.status, got.json()["id"]) == (200, object_id)
    listed = api.request("GET", "/users", query=[("limit", "100")]).json()["data"]
    assert object_id in [user["id"] for user in listed]
    deleted = api.request("DELETE", f"/users/{path_of(object_id)}")
    assert (deleted.status, deleted.json()["id"]) == (200, object_id)
    assert api.request("GET", f"/users/{path_of(object_id)}").status == 404


@settings(THROUGH_HTTP, max_examples=20)
@given(group_id=ids)
def test_any_group_id_round_trips_with_its_membership_or_is_refused(
    shared_api: ApiClient, group_id: str
) -> None:
    api = shared_api
    created = api.request("POST", "/users", json={"id": "member", "groups": [{"id": group_id}]})
    if limits.id_problem(group_id) is not None:
        assert created.status == 400, created.text
        return
    assert created.status == 200, created.text
    got = api.request("GET", f"/groups/{path_of(group_id)}", query=[("expand", "users")])
    assert (got.status, got.json()["id"]) == (200, group_id)
    assert [user["id"] for user in got.json()["users"]] == ["member"]
    removed = api.request(
        "DELETE", "/group_memberships", query=[("user_id", "member"), ("group_id", group_id)]
    )
    assert removed.status == 200 and removed.json()["id"] is not None
    assert api.request("DELETE", f"/groups/{path_of(group_id)}").status == 200
    assert api.request("GET", f"/groups/{path_of(group_id)}").status == 404


# --- attribute values near every limit -----------------------------------------------------------


def _text(size: int, unit: str) -> str:
    return unit * (size // len(unit.encode()))


near_limit_values: st.SearchStrategy[Any] = st.one_of(
    st.integers(-3, 3).flatmap(
        lambda delta: st.sampled_from(["a", "€", "😀"]).map(
            lambda unit: _text(limits.MAX_STRING_BYTES + delta * len(unit.encode()), unit)
        )
    ),
    st.sampled_from(
        [
            1e-130,
            -1e-130,
            1e-131,
            9.99999999999999e125,
            1e126,
            10**37,
            10**38 - 1,
            10**38 + 1,
            10**50,
            0.1,
            -0.0,
        ]
    ),
    st.integers(limits.MAX_LIST_LENGTH - 1, limits.MAX_LIST_LENGTH + 1).map(
        lambda n: [f"v{i}" for i in range(n)]
    ),
    st.sampled_from(
        [
            {"set": "1e200", "data_type": "number"},
            {"set": "1e-200", "data_type": "number"},
            {"set": 1e300, "data_type": "datetime"},
            {"add": 9.9e125},
            {"append": [f"w{i}" for i in range(600)]},
        ]
    ),
)
attribute_maps = st.dictionaries(
    st.sampled_from([f"attribute_{i}" for i in range(16)]), near_limit_values, max_size=8
)


@settings(THROUGH_HTTP, max_examples=30)
@given(user_attributes=attribute_maps, group_attributes=attribute_maps)
def test_values_near_every_limit_get_a_4xx_or_are_stored_and_a_refusal_writes_nothing(
    shared_api: ApiClient,
    user_attributes: dict[str, Any],
    group_attributes: dict[str, Any],
) -> None:
    api = shared_api
    run = uuid.uuid4()  # fresh objects for every example
    user_id, group_id = f"u-{run}", f"g-{run}"
    body = {
        "id": user_id,
        "attributes": user_attributes,
        "memberships": [
            {"attributes": {"role": "x"}, "group": {"id": group_id, "attributes": group_attributes}}
        ],
    }
    response = api.request("POST", "/users", **utf8_json(body))
    event(f"answered {response.status}")
    assert response.status in (200, 400), response.text
    user = api.request("GET", f"/users/{user_id}", query=[("expand", "memberships")])
    group = api.request("GET", f"/groups/{group_id}")
    if response.status == 400:
        # Refused: neither the user, nor its group, nor the membership exists.
        assert (user.status, group.status) == (404, 404), response.text
        return
    assert (user.status, group.status) == (200, 200)
    assert [m["group_id"] for m in user.json()["memberships"]] == [group_id]
    for name, value in user_attributes.items():
        if isinstance(value, str):
            assert user.json()["attributes"][name] == value


# --- one test for each case of the issue --------------------------------------------------------


def test_an_id_with_reserved_characters_reads_back_through_its_encoded_path(api: ApiClient) -> None:
    object_id = "a b@c.d+1:é"
    assert api.request("POST", "/users", json={"id": object_id}).status == 200
    got = api.request("GET", "/users/a%20b%40c.d%2B1%3A%C3%A9")
    assert (got.status, got.json()["id"]) == (200, object_id)
    # Decoded exactly once: a literal "%20" in an id is sent as %2520.
    assert api.request("POST", "/users", json={"id": "100%20"}).status == 200
    assert api.request("GET", "/users/100%2520").json()["id"] == "100%20"
    assert api.request("GET", "/users/100%20").status == 404  # that is the id "100 "
    deleted = api.request("DELETE", "/users/a%20b%40c.d%2B1%3A%C3%A9")
    assert deleted.json() == {"id": object_id, "object": "user", "deleted": True}


@pytest.mark.parametrize(
    ("method", "path", "query", "named"),
    [
        ("GET", "/users/" + "x" * 3000, [], "user_id"),
        ("DELETE", "/users/" + "x" * 3000, [], "user_id"),
        ("GET", "/groups/" + "x" * 3000, [], "group_id"),
        ("DELETE", "/groups/" + "x" * 3000, [], "group_id"),
        ("GET", "/users", [("starting_after", "x" * 2048)], "starting_after"),
        ("GET", "/groups", [("starting_after", "x" * 2048)], "starting_after"),
        ("GET", "/events", [("starting_after", "x" * 2048)], "starting_after"),
        ("GET", "/events", [("user_id", "x" * 2048)], "user_id"),
        ("GET", "/users", [("group_id", "é" * 1000)], "group_id"),
        (
            "DELETE",
            "/group_memberships",
            [("user_id", "é" * 1000), ("group_id", "é" * 1000)],
            "group_id",
        ),
        ("GET", "/users/%FF%FE", [], "user_id"),
    ],
)
def test_ids_no_object_can_have_are_400s_naming_the_parameter(
    api: ApiClient, method: str, path: str, query: list[tuple[str, str]], named: str
) -> None:
    response = api.request(method, path, query=query)
    assert response.status == 400, response.text
    assert f"`{named}`" in response.json()["error"]["message"]


def test_an_id_over_the_byte_limit_is_refused_and_one_at_it_works_with_memberships(
    api: ApiClient,
) -> None:
    over = api.request("POST", "/users", json={"id": "😀" * 240})  # 240 characters, 960 bytes
    assert over.status == 400 and "480 bytes" in over.json()["error"]["message"]
    user_id, group_id = "😀" * 120, "€" * 160  # both exactly 480 bytes
    body = {"id": user_id, "memberships": [{"attributes": {"r": 1}, "group": {"id": group_id}}]}
    assert api.request("POST", "/users", json=body).status == 200
    got = api.request("GET", f"/users/{path_of(user_id)}", query=[("expand", "memberships.group")])
    assert got.status == 200
    assert got.json()["memberships"][0]["group"]["id"] == group_id
    listed = api.request("GET", "/users", query=[("group_id", group_id)])
    assert [u["id"] for u in listed.json()["data"]] == [user_id]
    assert api.request("GET", "/users", query=[("starting_after", user_id)]).status == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "n", "attributes": {"x": {"set": "1e200", "data_type": "number"}}}',
        b'{"id": "n", "attributes": {"x": 1e-200}}',
        b'{"id": "n", "attributes": {"x": 1e200}}',
        b'{"id": "n", "attributes": {"x": 123456789012345678901234567890123456789}}',
        b'{"id": "n", "attributes": {"x": {"set": 1e300, "data_type": "datetime"}}}',
        b'{"id": "n", "attributes": {"x": NaN}}',
    ],
)
def test_numbers_dynamodb_cannot_store_are_400s(api: ApiClient, body: bytes) -> None:
    response = api.request(
        "POST", "/users", body=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400, response.text
    assert "attributes.x" in response.json()["error"]["message"]
    assert api.request("GET", "/users/n").status == 404


def test_a_sum_dynamodb_cannot_store_is_a_400_and_changes_nothing(api: ApiClient) -> None:
    precise = 10**37 + 1  # 38 significant digits
    assert (
        api.request("POST", "/users", json={"id": "n", "attributes": {"x": precise}}).status == 200
    )
    response = api.request("POST", "/users", json={"id": "n", "attributes": {"x": {"add": 0.5}}})
    assert response.status == 400 and "attributes.x" in response.json()["error"]["message"]
    assert api.request("GET", "/users/n").json()["attributes"]["x"] == precise
    added = api.request("POST", "/users", json={"id": "n", "attributes": {"x": {"add": 1}}})
    assert added.json()["attributes"]["x"] == precise + 1


def test_an_email_too_long_to_index_is_a_400(api: ApiClient) -> None:
    long_email = "a" * 10_000 + "@example.com"
    response = api.request("POST", "/users", json={"id": "e", "attributes": {"email": long_email}})
    assert response.status == 400 and "attributes.email" in response.json()["error"]["message"]
    assert api.request("GET", "/users/e").status == 404
    assert api.request("GET", "/users", query=[("email", "é" * 1000)]).status == 400


def test_an_object_over_the_size_limit_in_bytes_is_refused_and_left_as_it_was(
    api: ApiClient,
) -> None:
    euros = "€" * 9_000  # 9,000 characters, 27,000 bytes
    whole = {f"a{i}": euros for i in range(25)}  # 225,000 characters, 675,000 bytes
    response = api.request("POST", "/users", **utf8_json({"id": "big", "attributes": whole}))
    assert response.status == 400 and "bytes" in response.json()["error"]["message"]
    first = {f"a{i}": euros for i in range(8)}  # 216,000 bytes a request
    second = {f"b{i}": euros for i in range(8)}
    assert (
        api.request("POST", "/users", **utf8_json({"id": "big", "attributes": first})).status == 200
    )
    refused = api.request("POST", "/users", **utf8_json({"id": "big", "attributes": second}))
    assert refused.status == 400, refused.text
    assert "400,000 bytes" in refused.json()["error"]["message"]
    assert sorted(api.request("GET", "/users/big").json()["attributes"]) == sorted(first)


def test_events_and_segments_over_their_limits_are_400s(api: ApiClient) -> None:
    huge = api.request(
        "POST", "/events", json={"user_id": "u", "name": "e", "attributes": {"a": "€" * 250_000}}
    )
    assert huge.status == 400  # a 750 KB body
    large = api.request(
        "POST",
        "/events",
        json={"user_id": "u", "name": "e", "attributes": {f"a{i}": "x" * 30_000 for i in range(3)}},
    )
    assert large.status == 400 and "65,536 bytes" in large.json()["error"]["message"]
    assert api.request("GET", "/events").json()["data"] == []

    # The case: sent as UTF-8 (240,000 characters, under a limit counted in characters),
    # it was stored \u-escaped, 1.4 MB. Now the body alone is over the limit in bytes.
    escaped = {"type": "attribute", "attribute_name": "a", "operator": "eq", "value": "€" * 240_000}
    for body in ({"name": "s", "condition": escaped}, {"name": "€" * 240_000, "condition": {}}):
        assert api.request("POST", "/segments", **utf8_json(body)).status == 400
    condition = {
        "type": "attribute",
        "attribute_name": "a",
        "operator": "eq",
        "value": "€" * 20_000,
    }
    too_big = api.request("POST", "/segments", json={"name": "s", "condition": condition})
    assert too_big.status == 400 and "`condition`" in too_big.json()["error"]["message"]
    long_name = api.request(
        "POST", "/segments", json={"name": "€" * 500, "condition": {**condition, "value": "x"}}
    )
    assert long_name.status == 400 and "`name`" in long_name.json()["error"]["message"]
    assert api.request("GET", "/segments").json()["data"] == []


def test_a_user_with_memberships_refused_part_way_through_writes_nothing(api: ApiClient) -> None:
    # A group already near the size limit: adding to it through a membership must fail...
    filler = "x" * 30_000
    for step in range(13):
        attributes = {f"f{step}_{i}": filler for i in range(1)}
        assert (
            api.request("POST", "/groups", json={"id": "full", "attributes": attributes}).status
            == 200
        )
    body = {
        "id": "newcomer",
        "attributes": {"name": "N"},
        "memberships": [
            {"group": {"id": "fresh", "attributes": {"plan": "pro"}}},
            {"group": {"id": "full", "attributes": {"more": filler}}},
        ],
    }
    response = api.request("POST", "/users", json=body)
    assert response.status == 400, response.text
    assert "memberships[1].group.attributes" in response.json()["error"]["message"]
    # ...and then nothing of the request is written: not the user, not the other group.
    assert api.request("GET", "/users/newcomer").status == 404
    assert api.request("GET", "/groups/fresh").status == 404
    assert "more" not in api.request("GET", "/groups/full").json()["attributes"]
    # Long non-ASCII ids are refused before anything is written, too.
    long_ids = {"id": "é" * 200, "memberships": [{"group": {"id": "ü" * 300}}]}
    assert api.request("POST", "/users", json=long_ids).status == 400
    assert api.request("GET", "/users").json()["data"] == []


def test_an_attribute_used_by_many_event_names_keeps_a_small_definition(api: ApiClient) -> None:
    names = [f"event_{i}_" + "n" * 200 for i in range(40)]
    for name in names:
        response = api.request(
            "POST", "/events", json={"user_id": "u", "name": name, "attributes": {"shared": 1}}
        )
        assert response.status == 200
    item = dynamo.client().get_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.attribute_definition(api.environment, "event", "shared")),
    )["Item"]
    assert "event_names" not in item  # the names live in their own small items
    listed = api.request(
        "GET", "/attribute_definitions", query=[("event_name[]", names[7]), ("scope", "event")]
    )
    assert [d["name"] for d in listed.json()["data"]] == ["shared"]
    unused = api.request("GET", "/attribute_definitions", query=[("event_name", "other")])
    assert unused.json()["data"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/users",
        "/groups",
        "/events",
        "/attribute_definitions",
        "/event_definitions",
        "/segments",
        "/users/somebody",
        "/groups/somegroup",
    ],
)
def test_undocumented_query_parameters_are_ignored(api: ApiClient, path: str) -> None:
    api.request("POST", "/users", json={"id": "somebody", "groups": [{"id": "somegroup"}]})
    response = api.request("GET", path, query=[("sort", "asc"), ("utm_source", "x")])
    assert response.status == 200, response.text
    if "next_page_url" in response.json():
        assert "sort=asc" in response.json()["next_page_url"]  # kept for the next page
    # Documented parameters are still checked.
    assert api.request("GET", path, query=[("sort", "asc"), ("expand", "nope")]).status == 400


def test_events_by_name_come_from_their_own_index(api: ApiClient) -> None:
    api.request("POST", "/events", json={"user_id": "u", "name": "rare"})
    for i in range(30):
        api.request(
            "POST", "/events", json={"user_id": "u", "name": "common", "attributes": {"i": i}}
        )
    page = api.request("GET", "/events", query=[("name", "rare"), ("limit", "1")]).json()
    assert [e["name"] for e in page["data"]] == ["rare"] and page["has_more"] is False
    page = api.request("GET", "/events", query=[("name", "common"), ("limit", "2")]).json()
    assert [e["attributes"]["i"] for e in page["data"]] == [29, 28] and page["has_more"] is True
    both = api.request("GET", "/events", query=[("name", "rare"), ("user_id", "u")]).json()
    assert [e["name"] for e in both["data"]] == ["rare"]
    assert api.request("GET", "/events", query=[("name", "bad/name")]).status == 400


def test_lists_of_large_objects_stay_under_the_response_limit(api: ApiClient) -> None:
    value = "€" * 10_000  # 30 KB stored, 60 KB in a response (\\u20ac each)
    for i in range(12):
        body = {"id": f"big{i:02d}", "attributes": {f"a{j}": value for j in range(8)}}
        assert api.request("POST", "/users", **utf8_json(body)).status == 200  # 480 KB as JSON
    seen: list[str] = []
    url = "/users?limit=100"
    while True:
        response = api.request("GET", url)
        assert response.status == 200 and len(response.body) < 6_000_000
        page = response.json()
        seen += [u["id"] for u in page["data"]]
        if not page["has_more"]:
            break
        url = page["next_page_url"]
    assert seen == [f"big{i:02d}" for i in range(12)]


def test_a_request_body_with_lone_surrogates_is_a_400(api: ApiClient) -> None:
    body = json.dumps({"id": "s", "attributes": {"a": "x"}}).replace('"x"', '"\\ud800"').encode()
    response = api.request(
        "POST", "/users", body=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert api.request("GET", "/users/s").status == 404


def test_one_hundred_attributes_fit_one_update_and_more_are_refused(
    new_environment: NewEnvironment,
) -> None:
    api = new_environment()
    # The longest update: every attribute `set_once`, and the email index maintained too.
    at_limit = {f"attribute_{i:03d}": {"set_once": f"v{i}"} for i in range(99)}
    at_limit["email"] = {"set_once": "wide@example.com"}
    assert api.request("POST", "/users", json={"id": "wide", "attributes": at_limit}).status == 200
    over = {**at_limit, "one_more": 1}
    response = api.request("POST", "/users", json={"id": "wide", "attributes": over})
    assert response.status == 400 and "at most 100" in response.json()["error"]["message"]
    assert api.request("GET", "/users/wide").json()["attributes"]["attribute_098"] == "v98"
    assert api.request("GET", "/users", query=[("email", "wide@example.com")]).json()["data"]
