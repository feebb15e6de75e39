"""Users through HTTP on the local stack (DynamoDB Local), including concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest import ApiClient


def test_walk_through_upsert_get_list_delete(api: ApiClient) -> None:
    created = api.request(
        "POST",
        "/users",
        json={
            "id": "evelyn",
            "attributes": {
                "name": "Evelyn Reichert",
                "email": "evelyn@example.com",
                "signed_up_at": "2022-09-29T12:34:56.000+00:00",
            },
        },
    )
    assert created.status == 200
    user = created.json()
    assert user["object"] == "user"
    assert user["attributes"] == {
        "email": "evelyn@example.com",
        "name": "Evelyn Reichert",
        "signed_up_at": "2022-09-29T12:34:56.000+00:00",
    }
    assert api.request("GET", "/users/evelyn").json() == user
    listing = api.request("GET", "/users", query=[("email", "evelyn@example.com")]).json()
    assert [u["id"] for u in listing["data"]] == ["evelyn"]
    assert api.request("DELETE", "/users/evelyn").json() == {
        "id": "evelyn",
        "object": "user",
        "deleted": True,
    }
    assert api.request("GET", "/users/evelyn").status == 404


def test_twenty_parallel_adds_give_exactly_twenty(api: ApiClient) -> None:
    api.request("POST", "/users", json={"id": "counter", "attributes": {"n": 0}})

    def add_one(_: int) -> int:
        return api.request(
            "POST", "/users", json={"id": "counter", "attributes": {"n": {"add": 1}}}
        ).status

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(add_one, range(20)))
    assert statuses == [200] * 20
    assert api.request("GET", "/users/counter").json()["attributes"]["n"] == 20


def test_parallel_adds_on_a_new_user_create_it_once(api: ApiClient) -> None:
    def add_one(_: int) -> int:
        return api.request(
            "POST", "/users", json={"id": "fresh", "attributes": {"n": {"add": 1}}}
        ).status

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert list(pool.map(add_one, range(20))) == [200] * 20
    assert api.request("GET", "/users/fresh").json()["attributes"]["n"] == 20


def test_concurrent_upserts_lose_no_attribute_list_value_or_membership(api: ApiClient) -> None:
    def write(i: int) -> int:
        return api.request(
            "POST",
            "/users",
            json={
                "id": "busy",
                "attributes": {f"attr_{i}": i, "tags": {"append": f"t{i}"}, "hits": {"add": 1}},
                "memberships": [{"attributes": {"seen": i}, "group": {"id": f"g{i}"}}],
            },
        ).status

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(write, range(30))) == [200] * 30
    user = api.request("GET", "/users/busy", query=[("expand", "memberships")]).json()
    attributes = user["attributes"]
    assert {f"attr_{i}" for i in range(30)} <= set(attributes)
    assert attributes["hits"] == 30
    assert sorted(attributes["tags"]) == sorted(f"t{i}" for i in range(30))
    assert sorted(m["group_id"] for m in user["memberships"]) == sorted(f"g{i}" for i in range(30))


def test_pagination_follows_next_page_url(api: ApiClient) -> None:
    for i in range(7):
        api.request("POST", "/users", json={"id": f"p{i}", "attributes": {"team": "pages"}})
    seen: list[str] = []
    path = "/users?limit=3"
    while True:
        page = api.request("GET", path).json()
        seen.extend(u["id"] for u in page["data"])
        if not page["has_more"]:
            break
        path = page["next_page_url"]
    assert seen == [f"p{i}" for i in range(7)]


def test_tenants_never_see_each_others_users(api: ApiClient, other_api: ApiClient) -> None:
    api.request("POST", "/users", json={"id": "same-id", "attributes": {"owner": "first"}})
    other_api.request("POST", "/users", json={"id": "other-only"})
    assert other_api.request("GET", "/users/same-id").status == 404
    assert [u["id"] for u in other_api.request("GET", "/users").json()["data"]] == ["other-only"]
    assert other_api.request("DELETE", "/users/same-id").status == 200  # idempotent, no effect
    assert api.request("GET", "/users/same-id").json()["attributes"] == {"owner": "first"}
    assert "other-only" not in [u["id"] for u in api.request("GET", "/users").json()["data"]]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("PUT", "/users", 405, "method_not_allowed"),
        ("GET", "/users?limit=0", 400, "invalid_request"),
        ("GET", "/nowhere", 404, "not_found"),
    ],
)
def test_errors_use_the_envelope(
    api: ApiClient, method: str, path: str, status: int, code: str
) -> None:
    response = api.request(method, path)
    assert response.status == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"] and error["request_id"]
