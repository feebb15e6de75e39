"""What must hold under load and abuse: no lost updates, big cascades, no 5xx, no leaks
between tenants. Against DynamoDB Local through HTTP."""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.store import dynamo, events, keys
from tests.integration.conftest import ApiClient

WRITERS = 8
ROUNDS = 5


def test_concurrent_upserts_of_one_user_lose_nothing(api: ApiClient) -> None:
    def writer(number: int) -> list[int]:
        statuses = []
        for round_ in range(ROUNDS):
            response = api.request(
                "POST",
                "/users",
                json={
                    "id": "shared",
                    "attributes": {
                        f"writer_{number}": round_,
                        "total": {"add": 1},
                        "tags": {"append": f"t{number}-{round_}"},
                    },
                    "groups": [{"id": f"group_{number}_{round_}"}],
                },
            )
            statuses.append(response.status)
        return statuses

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        statuses = [s for batch in pool.map(writer, range(WRITERS)) for s in batch]
    assert statuses == [200] * (WRITERS * ROUNDS)

    user = api.request("GET", "/users/shared", query=[("expand", "memberships")]).json()
    attributes = user["attributes"]
    assert attributes["total"] == WRITERS * ROUNDS
    assert {attributes[f"writer_{n}"] for n in range(WRITERS)} == {ROUNDS - 1}
    assert sorted(attributes["tags"]) == sorted(
        f"t{n}-{r}" for n in range(WRITERS) for r in range(ROUNDS)
    )
    assert sorted(m["group_id"] for m in user["memberships"]) == sorted(
        f"group_{n}_{r}" for n in range(WRITERS) for r in range(ROUNDS)
    )


def _seed_events(environment_id: str, user_id: str, count: int) -> None:
    """Write events straight to the table in batches: the test is about deleting them."""
    items = [
        events.new_event(
            environment_id, name="seeded", user_id=user_id, group_id=None, attributes={}, time=None
        )[1]
        for _ in range(count)
    ]
    batches = [items[i : i + 25] for i in range(0, len(items), 25)]

    def write(batch: list[dict[str, Any]]) -> None:
        pending = {
            dynamo.table_name(): [{"PutRequest": {"Item": dynamo.to_item(i)}} for i in batch]
        }
        while pending:
            pending = (
                dynamo.client().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, batches))


def _count_partition(partition: str) -> int:
    total, arguments = (
        0,
        {
            "TableName": dynamo.table_name(),
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "Select": "COUNT",
        },
    )
    while True:
        page = dynamo.client().query(**arguments)
        total += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return total
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_deleting_a_user_with_ten_thousand_events(
    api: ApiClient, wait_for_streams: Callable[[], None]
) -> None:
    api.request("POST", "/users", json={"id": "busy", "groups": [{"id": "team"}]})
    _seed_events(api.environment, "busy", 10_000)
    partition = keys.user(api.environment, "busy")["PK"]
    # The user, its membership, its id's search entry and its entry in each ordered list.
    assert _count_partition(partition) == 10_000 + 3 + len(keys.ORDERED_ATTRIBUTES)

    response = api.request("DELETE", "/users/busy")
    assert response.status == 200  # the API answers at once; the cascade does the rest
    assert api.request("GET", "/users/busy").status == 404
    assert (
        api.request("GET", "/groups/team", query=[("expand", "memberships")]).json()["memberships"]
        == []
    )
    wait_for_streams()
    assert _count_partition(partition) == 0
    assert api.request("GET", "/events", query=[("user_id", "busy")]).json()["data"] == []


# --- bad input never yields a 5xx --------------------------------------------------------------

ROUTES = [
    ("POST", "/users"),
    ("GET", "/users"),
    ("GET", "/users/{id}"),
    ("DELETE", "/users/{id}"),
    ("POST", "/groups"),
    ("GET", "/groups"),
    ("GET", "/groups/{id}"),
    ("DELETE", "/groups/{id}"),
    ("DELETE", "/group_memberships"),
    ("POST", "/events"),
    ("GET", "/events"),
    ("GET", "/attribute_definitions"),
    ("GET", "/event_definitions"),
    ("POST", "/segments"),
    ("GET", "/segments"),
    ("GET", "/segments/{id}"),
    ("PATCH", "/segments/{id}"),
    ("DELETE", "/segments/{id}"),
    ("POST", "/content"),
    ("GET", "/content"),
    ("GET", "/content/{id}"),
    ("PATCH", "/content/{id}"),
    ("POST", "/content/{id}/archive"),
    ("PATCH", "/content/{id}/draft"),
    ("POST", "/content/{id}/publish"),
    ("GET", "/content_versions"),
    ("GET", "/content_versions/{id}"),
    ("POST", "/content_sessions"),
    ("GET", "/content_sessions"),
    ("GET", "/content_sessions/{id}"),
    ("DELETE", "/content_sessions/{id}"),
    ("POST", "/content_sessions/{id}/progress"),
    ("POST", "/content_sessions/{id}/answers"),
    ("POST", "/content_sessions/{id}/tasks/{id}/complete"),
    ("POST", "/content_sessions/{id}/end"),
    ("GET", "/users/search"),
    ("POST", "/users/bulk"),
    ("POST", "/users/{id}/unsubscribe"),
    ("POST", "/users/{id}/resubscribe"),
    ("POST", "/imports"),
    ("GET", "/imports/{id}"),
    ("POST", "/imports/{id}/start"),
    ("GET", "/imports/{id}/errors"),
    ("POST", "/exports"),
    ("GET", "/exports/{id}"),
    ("GET", "/v1/users"),
    ("POST", "/v1/users"),
    ("GET", "/v1/users/{id}"),
    ("POST", "/v1/companies"),
    ("POST", "/v1/company-memberships"),
    ("DELETE", "/v1/company-memberships"),
    ("POST", "/v1/events"),
    ("GET", "/v1/content-versions"),
    ("GET", "/v1/content-sessions"),
    ("POST", "/v1/content-sessions/{id}/end"),
]

ODD_KEYS = ["", " ", "x" * 256, "\x7f", "caf\u00e9"]
ODD_IDS = ["%00", "%2F..%2F", "x" * 2000, "%E2%9C%93", "%F0%9F%98%80", "a%20b", "%25", "null"]


def _junk(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(9 if depth < 3 else 5)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False, 0, -1, 1e308, -0.0, 2**70])
    if choice == 2:
        return "".join(rng.choice(string.printable + "é✓😀\x00") for _ in range(rng.randrange(40)))
    if choice == 3:
        return rng.choice(["", "x" * 10_000, "2024-13-45T99:00:00Z", "ak_", "__proto__"])
    if choice == 4:
        return {"set": rng.choice([None, [], {}, "x", [1, 2]]), "data_type": rng.choice(["x", 1])}
    if choice in (5, 6):
        return [_junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(
            [
                "id",
                "name",
                "attributes",
                "groups",
                "memberships",
                "user_id",
                "group_id",
                "time",
                "condition",
                "type",
                "questions",
                "tasks",
                "content_id",
                "progress",
                "question_cvid",
                "answer_value",
                "a b",
                "x" * 300,
            ]
        ): _junk(rng, depth + 1)
        for _ in range(rng.randrange(5))
    }


def _deep(levels: int) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": "attribute", "attribute_name": "a", "operator": "empty"}
    for _ in range(levels):
        condition = {"type": "clause", "operator": "and", "conditions": [condition]}
    return condition


def _bad_requests(rng: random.Random) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request options): malformed, mistyped, oversized and odd requests."""
    requests: list[tuple[str, str, dict[str, Any]]] = []
    huge_condition = {
        "type": "clause",
        "operator": "or",
        "conditions": [_deep(0) for _ in range(5000)],
    }
    for method, template in ROUTES:
        paths = (
            [template.replace("{id}", odd) for odd in ODD_IDS] if "{id}" in template else [template]
        )
        for path in paths:
            requests.append((method, path, {}))
        path = template.replace("{id}", "x")
        for _ in range(8):
            requests.append((method, path, {"json": _junk(rng)}))
        requests += [
            (method, path, {"body": b"{not json"}),
            (method, path, {"body": b"\xff\xfe\x00"}),
            (method, path, {"body": b"[" * 5000 + b"]" * 5000}),
            (method, path, {"body": b'{"id": "' + b"x" * 300_000 + b'"}'}),
            (method, path, {"query": [("limit", rng.choice(["0", "101", "-1", "x", "1e3"]))]}),
            (method, path, {"query": [("order_by", "attributes.%00")]}),
            (method, path, {"query": [("expand", "a.b.c.d.e.f")]}),
            (method, path, {"query": [("condition", "{" * 3000)]}),
            (method, path, {"query": [("condition", json.dumps(_deep(200)))]}),
            (method, path, {"query": [("condition", json.dumps(huge_condition))]}),
            (method, path, {"query": [("starting_after", "\x00")]}),
            (method, path, {"headers": {"Userflow-Version": "1999-01-01"}}),
            (method, path, {"headers": {"Content-Type": "text/plain"}, "body": b"id=1"}),
            (method, path, {"headers": {"Idempotency-Key": rng.choice(ODD_KEYS)}}),
            (
                method,
                path,
                {"headers": {"Idempotency-Key": f"barrage-{len(requests)}"}, "json": _junk(rng)},
            ),
        ]
    return requests


def test_hundreds_of_bad_requests_never_yield_a_5xx(api: ApiClient) -> None:
    from shared.domain.rate_limits import MAX_BURST, MAX_RATE, RateLimits
    from shared.store import tenancy

    # Hundreds of requests at once would pass the default rate limit: room for them all.
    tenancy.set_rate_limits(api.environment, RateLimits(rate=MAX_RATE, burst=MAX_BURST))
    rng = random.Random(20261125)
    requests = _bad_requests(rng)
    assert len(requests) >= 300

    def send(request: tuple[str, str, dict[str, Any]]) -> tuple[int, str, str]:
        method, path, options = request
        response = api.request(method, path, **options)
        return response.status, method, path

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(send, requests))
    server_errors = [
        (status, method, path[:60]) for status, method, path in results if status >= 500
    ]
    assert server_errors == []
    assert {status for status, _, _ in results} <= {200, 400, 404, 405, 406, 413, 415}


# --- tenant isolation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("create", "read", "listing", "delete"),
    [
        (
            ("POST", "/groups", {"id": "shared-id"}),
            "/groups/shared-id",
            "/groups",
            "/groups/shared-id",
        ),
        (("POST", "/users", {"id": "shared-id"}), "/users/shared-id", "/users", "/users/shared-id"),
    ],
)
def test_environments_never_see_each_others_data(
    api: ApiClient,
    other_api: ApiClient,
    create: tuple[str, str, dict[str, Any]],
    read: str,
    listing: str,
    delete: str,
) -> None:
    method, path, body = create
    assert api.request(method, path, json={**body, "attributes": {"secret": "mine"}}).status == 200
    assert other_api.request("GET", read).status == 404
    assert other_api.request("GET", listing).json()["data"] == []
    assert other_api.request("DELETE", delete).status == 200  # idempotent: nothing to delete
    assert api.request("GET", read).json()["attributes"] == {"secret": "mine"}


def test_events_definitions_and_segments_stay_in_their_environment(
    api: ApiClient, other_api: ApiClient
) -> None:
    api.request(
        "POST", "/events", json={"user_id": "u", "name": "secret_event", "attributes": {"k": 1}}
    )
    segment = api.request(
        "POST",
        "/segments",
        json={
            "name": "s",
            "condition": {"type": "attribute", "attribute_name": "k", "operator": "not_empty"},
        },
    ).json()
    assert other_api.request("GET", "/events").json()["data"] == []
    assert other_api.request("GET", "/event_definitions").json()["data"] == []
    assert other_api.request("GET", "/attribute_definitions").json()["data"] == []
    assert other_api.request("GET", "/segments").json()["data"] == []
    assert other_api.request("GET", f"/segments/{segment['id']}").status == 404
    assert other_api.request("GET", "/users", query=[("segment_id", segment["id"])]).status == 400
    assert other_api.request("DELETE", f"/segments/{segment['id']}").status in (200, 404)
    assert api.request("GET", f"/segments/{segment['id']}").status == 200
