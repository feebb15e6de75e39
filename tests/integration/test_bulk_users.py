"""POST /users/bulk through HTTP on DynamoDB Local: 1,000 users in one request."""

from __future__ import annotations

import time

from tests.integration.conftest import ApiClient


def test_a_thousand_users_in_one_request(api: ApiClient) -> None:
    users = [
        {
            "id": f"bulk-{n:04d}",
            "attributes": {"name": f"User {n}", "email": f"u{n}@example.com", "n": n},
            **({"groups": [{"id": f"team-{n % 10}"}]} if n % 100 == 0 else {}),
        }
        for n in range(1000)
    ]
    started = time.monotonic()
    answer = api.request("POST", "/users/bulk", json={"users": users})
    elapsed = time.monotonic() - started
    assert answer.status == 200
    body = answer.json()
    print(
        f"\nPOST /users/bulk, 1,000 new users: {elapsed:.1f} s on DynamoDB Local "
        f"({body['succeeded']} done in the first request)"
    )
    assert body["failed"] == 0
    assert [r["id"] for r in body["data"]] == [u["id"] for u in users]
    # What a slow machine left undone is sent again, as a client would.
    left = [users[r["index"]] for r in body["data"] if r["status"] == 503]
    while left:
        again = api.request("POST", "/users/bulk", json={"users": left}).json()
        assert again["failed"] == 0 and again["succeeded"] > 0
        left = [left[r["index"]] for r in again["data"] if r["status"] == 503]
    assert api.request("GET", "/users/bulk-0999").json()["attributes"]["n"] == 999
    found = api.request("GET", "/users/search", query=[("q", "u998@")]).json()
    assert [u["id"] for u in found["data"]] == ["bulk-0998"]
    members = api.request("GET", "/users", query=[("group_id", "team-0")]).json()
    assert sorted(u["id"] for u in members["data"]) == [
        f"bulk-{n:04d}" for n in range(0, 1000, 100)
    ]


def test_a_refused_item_changes_nothing_and_the_rest_is_written(api: ApiClient) -> None:
    api.request("POST", "/users", json={"id": "keep", "attributes": {"plan": "free"}})
    answer = api.request(
        "POST",
        "/users/bulk",
        json={
            "users": [
                {"id": "keep", "attributes": {"plan": "pro", "tags": {"append": ["x"] * 1}}},
                {"id": "keep", "attributes": {"plan": "team", "n": "x" * 40_000}},
                {"id": "new-one"},
            ]
        },
    )
    assert answer.status == 200
    statuses = [r["status"] for r in answer.json()["data"]]
    assert statuses == [200, 400, 200]
    assert api.request("GET", "/users/keep").json()["attributes"] == {"plan": "pro", "tags": ["x"]}
    assert api.request("GET", "/users/bulk").status == 405  # the endpoint, not a user


def test_bulk_refuses_what_no_item_could_carry(api: ApiClient) -> None:
    answer = api.request("POST", "/users/bulk", json={"users": [{"id": "a"}] * 1001})
    assert answer.status == 400
    assert answer.json()["error"]["code"] == "invalid_request"
