"""POST /users/bulk through its handler (moto), and the bulk runner's rules."""

from __future__ import annotations

import json
import threading
from functools import partial
from typing import Any

import pytest

from functions.users.handler import lambda_handler as users_handler
from functions.users_bulk.handler import lambda_handler as bulk_handler
from shared.services import bulk
from tests.support import api_event
from tests.unit.conftest import Invoke, LambdaContext


@pytest.fixture
def call(environment: str) -> Invoke:
    return Invoke(bulk_handler, environment)


@pytest.fixture
def users(environment: str) -> Invoke:
    return Invoke(users_handler, environment)


def test_each_item_is_a_post_users_and_gets_its_own_result(call: Invoke, users: Invoke) -> None:
    status, body = call(
        "POST",
        "/users/bulk",
        body={
            "users": [
                {"id": "u1", "attributes": {"name": "Ann", "logins": {"add": 2}}},
                {"id": "u2", "attributes": {"bad name!": 1}},
                {"id": "u3", "groups": [{"id": "acme", "attributes": {"plan": "pro"}}]},
                {"id": "search"},
                {"id": "u4", "unknown": True},
                "not an object",
            ]
        },
    )
    assert status == 200
    assert body["object"] == "bulk_result"
    assert (body["succeeded"], body["failed"], body["not_processed"]) == (2, 4, 0)
    results = body["data"]
    assert [(r["index"], r["id"], r["status"]) for r in results] == [
        (0, "u1", 200),
        (1, "u2", 400),
        (2, "u3", 200),
        (3, "search", 400),
        (4, "u4", 400),
        (5, None, 400),
    ]
    assert "error" not in results[0]
    assert set(results[1]["error"]) == {"code", "message", "request_id"}
    assert results[1]["error"]["code"] == "invalid_request"
    assert "bad name!" in results[1]["error"]["message"]
    assert "reserved" in results[3]["error"]["message"]
    assert results[4]["error"]["message"] == "Invalid `unknown`: unknown field."
    assert results[5]["error"]["message"] == "The request body must be a JSON object."
    # What succeeded is stored as POST /users stores it; what was refused wrote nothing.
    assert users("GET", "/users/u1")[1]["attributes"] == {"logins": 2, "name": "Ann"}
    assert users("GET", "/users/u3", query="expand=groups")[1]["groups"][0]["id"] == "acme"
    assert users("GET", "/users/u2")[0] == 404
    assert users("GET", "/users/u4")[0] == 404


def test_items_for_one_user_apply_in_their_order(call: Invoke, users: Invoke) -> None:
    items = [{"id": "same", "attributes": {"n": {"add": 1}, "last": i}} for i in range(20)]
    status, body = call("POST", "/users/bulk", body={"users": items})
    assert status == 200 and body["succeeded"] == 20
    assert users("GET", "/users/same")[1]["attributes"] == {"last": 19, "n": 20}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"users": []}, "Invalid `users`"),
        ({"users": [{"id": str(i)} for i in range(1001)]}, "Invalid `users`"),
        ({"users": [{"id": "a"}], "more": 1}, "Invalid `more`: unknown field."),
        ({"items": [{"id": "a"}]}, "Invalid `users`"),
    ],
)
def test_a_malformed_request_is_one_400(call: Invoke, body: Any, message: str) -> None:
    status, answer = call("POST", "/users/bulk", body=body)
    assert status == 400
    assert message in answer["error"]["message"]


def test_the_body_may_be_larger_than_other_requests(call: Invoke) -> None:
    items = [{"id": f"u{i}", "attributes": {"bio": "x" * 2_000}} for i in range(200)]
    assert len(json.dumps({"users": items})) > 262_144
    status, body = call("POST", "/users/bulk", body={"users": items})
    assert status == 200 and body["succeeded"] == 200


class ShortContext(LambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 1_000  # less than the handler keeps in reserve


def test_items_not_started_in_time_are_reported_to_send_again(environment: str) -> None:
    event = api_event(
        "POST", "/users/bulk", environment_id=environment, body={"users": [{"id": "late"}]}
    )
    response = bulk_handler(event, ShortContext())  # type: ignore[arg-type]
    body = json.loads(response["body"])
    assert response["statusCode"] == 200
    (result,) = body["data"]
    assert result["status"] == 503
    assert result["error"]["code"] == "not_processed"
    assert body["not_processed"] == 1
    assert Invoke(users_handler, environment)("GET", "/users/late")[0] == 404


def test_run_each_keeps_each_keys_order_and_captures_errors() -> None:
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    def call(key: str, n: int) -> int:
        with lock:
            seen.append((key, n))
        if n == 3:
            raise ValueError("three")
        return n

    keys = ["a", "b"] * 5
    outcomes = bulk.run_each([partial(call, key, n) for n, key in enumerate(keys)], keys=keys)
    assert [o.value for o in outcomes] == [0, 1, 2, None, 4, 5, 6, 7, 8, 9]
    assert isinstance(outcomes[3].error, ValueError)
    assert [n for key, n in seen if key == "a"] == [0, 2, 4, 6, 8]
    assert [n for key, n in seen if key == "b"] == [1, 3, 5, 7, 9]


def test_run_each_starts_nothing_once_time_is_short() -> None:
    left = iter([10.0, 10.0, 0.5, 0.5])
    outcomes = bulk.run_each(
        [lambda: 1, lambda: 2, lambda: 3],
        keys=["k", "k", "k"],
        time_left=lambda: next(left),
        reserve_seconds=1.0,
    )
    assert [o.started for o in outcomes] == [True, True, False]
