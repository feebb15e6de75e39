"""The Idempotency-Key header through the handlers (moto): what is kept, replayed, refused and
released, and what the header costs in DynamoDB calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.events.handler import lambda_handler as events_handler
from functions.users.handler import lambda_handler as users_handler
from shared.services import tracking
from shared.store import definitions
from tests.support import api_event
from tests.unit.conftest import LambdaContext

Handler = Any


@pytest.fixture(autouse=True)
def _fresh_definition_cache() -> None:
    definitions.forget_written()


class Client:
    """Calls a handler like API Gateway, with headers, and returns the whole response."""

    def __init__(self, handler: Handler, environment_id: str) -> None:
        self.handler = handler
        self.environment_id = environment_id

    def __call__(
        self,
        method: str = "POST",
        path: str = "/users",
        key: str | None = None,
        *,
        event: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """`event`: send this event as it is instead."""
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Idempotency-Key"] = key
        if event is None:
            event = api_event(
                method, path, environment_id=self.environment_id, headers=headers, **kwargs
            )
        response: dict[str, Any] = self.handler(event, LambdaContext())
        return response


def status_and_body(response: dict[str, Any]) -> tuple[int, Any]:
    return response["statusCode"], json.loads(response["body"])


def replayed(response: dict[str, Any]) -> bool:
    headers = response.get("multiValueHeaders") or {}
    return headers.get("Idempotent-Replayed") == ["true"]


@pytest.fixture
def users(environment: str) -> Client:
    return Client(users_handler, environment)


@pytest.fixture
def events(environment: str) -> Client:
    return Client(events_handler, environment)


ADD = {"id": "u1", "attributes": {"logins": {"add": 1}}}


def test_a_retried_add_counts_once_and_gets_the_first_response(users: Client) -> None:
    first = users("POST", "/users", "key-1", body=ADD)
    again = users("POST", "/users", "key-1", body=ADD)
    assert status_and_body(first)[1]["attributes"] == {"logins": 1}
    assert (again["statusCode"], again["body"]) == (first["statusCode"], first["body"])
    assert replayed(again) and not replayed(first)
    _, now = status_and_body(users("GET", "/users/u1"))
    assert now["attributes"] == {"logins": 1}


def test_without_the_header_every_request_runs(users: Client) -> None:
    users("POST", "/users", body=ADD)
    users("POST", "/users", body=ADD)
    assert status_and_body(users("GET", "/users/u1"))[1]["attributes"] == {"logins": 2}


def test_the_header_costs_one_put_before_and_one_update_after_a_write(
    users: Client, dynamodb_calls: list[str]
) -> None:
    users("POST", "/users", body={"id": "warm", "attributes": {"logins": 1}})  # definitions
    dynamodb_calls.clear()
    users("POST", "/users", body={"id": "u0", "attributes": {"logins": 1}})
    without = list(dynamodb_calls)
    dynamodb_calls.clear()
    users("POST", "/users", "key", body={"id": "u1", "attributes": {"logins": 1}})
    assert dynamodb_calls == ["PutItem", *without, "UpdateItem"]
    dynamodb_calls.clear()
    users("POST", "/users", "key", body={"id": "u1", "attributes": {"logins": 1}})
    assert dynamodb_calls == ["PutItem"]  # a replay: the refused claim returns the record


def test_the_same_key_with_another_body_path_or_method_is_a_409(
    users: Client, events: Client
) -> None:
    users("POST", "/users", "key", body=ADD)
    for response in (
        users("POST", "/users", "key", body={**ADD, "id": "u2"}),
        users("POST", "/users", "key", body=ADD, query="expand=memberships"),
        users("DELETE", "/users/u1", "key"),
        events("POST", "/events", "key", body={"user_id": "u1", "name": "x"}),
    ):
        status, body = status_and_body(response)
        assert (status, body["error"]["code"]) == (409, "idempotency_key_reused")
        assert "Use a new key" in body["error"]["message"] and body["error"]["request_id"]
    assert status_and_body(users("GET", "/users/u1"))[1]["attributes"] == {"logins": 1}
    assert status_and_body(users("GET", "/users/u2"))[0] == 404


def test_the_same_json_serialized_anew_is_the_same_request(users: Client) -> None:
    first = users("POST", "/users", "key", body='{"id": "u1", "attributes": {"a": 1, "b": 2}}')
    again = users("POST", "/users", "key", body='{"attributes":{"b":2,"a":1},"id":"u1"}')
    assert replayed(again) and again["body"] == first["body"]


def test_a_request_in_flight_holds_its_key_with_a_409_to_retry(
    users: Client, environment: str
) -> None:
    from shared.http import idempotency
    from shared.store import idempotency as records

    request = idempotency.fingerprint("POST", "/users", {}, json.dumps(ADD))
    records.claim(environment, "key", request, now=_now(), in_flight_seconds=30)
    response = users("POST", "/users", "key", body=ADD)
    status, body = status_and_body(response)
    assert (status, body["error"]["code"]) == (409, "idempotency_key_in_use")
    assert "Retry in 1 second" in body["error"]["message"]
    assert response["multiValueHeaders"]["Retry-After"] == ["1"]
    assert status_and_body(users("GET", "/users/u1"))[0] == 404


def test_a_4xx_is_kept_and_replayed(users: Client) -> None:
    bad = {"id": "u1", "attributes": {"no/slash": 1}}
    first = users("POST", "/users", "key", body=bad)
    again = users("POST", "/users", "key", body=bad)
    assert first["statusCode"] == 400
    assert replayed(again) and again["body"] == first["body"]


def test_a_5xx_releases_the_key_so_the_retry_runs(
    events: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tracking.track_event

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("lost connection")

    monkeypatch.setattr(tracking, "track_event", broken)
    body = {"user_id": "u1", "name": "clicked"}
    assert events("POST", "/events", "key", body=body)["statusCode"] == 500
    monkeypatch.setattr(tracking, "track_event", real)
    retry = events("POST", "/events", "key", body=body)
    assert retry["statusCode"] == 200 and not replayed(retry)
    assert replayed(events("POST", "/events", "key", body=body))


def test_a_409_that_asks_for_a_retry_releases_the_key(
    users: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.store import attributed

    real = attributed.write

    def conflicts(*args: object, **kwargs: object) -> None:
        raise attributed.ConflictError("version moved on every retry")

    monkeypatch.setattr(attributed, "write", conflicts)
    body = {"id": "u1", "attributes": {"tags": {"append": "a"}}}
    status, answer = status_and_body(users("POST", "/users", "key", body=body))
    assert (status, answer["error"]["code"]) == (409, "conflict")
    monkeypatch.setattr(attributed, "write", real)
    status, answer = status_and_body(users("POST", "/users", "key", body=body))
    assert (status, answer["attributes"]) == (200, {"tags": ["a"]})


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Idempotency-Key": ""}, "it is empty"),
        ({"Idempotency-Key": "k" * 256}, "longer than 255"),
        ({"idempotency-key": "caf\u00e9"}, "printable ASCII"),
    ],
)
def test_an_invalid_key_is_a_400_and_nothing_is_written(
    users: Client, dynamodb_calls: list[str], headers: dict[str, str], message: str
) -> None:
    response = users("POST", "/users", body=ADD, headers=headers)
    status, body = status_and_body(response)
    assert (status, body["error"]["code"]) == (400, "invalid_idempotency_key")
    assert message in body["error"]["message"]
    assert dynamodb_calls == []


def test_the_header_name_is_case_insensitive(users: Client) -> None:
    users("POST", "/users", body=ADD, headers={"idempotency-key": "k"})
    again = users("POST", "/users", body=ADD, headers={"IDEMPOTENCY-KEY": "k"})
    assert replayed(again)


def test_two_values_of_the_header_are_a_400(users: Client, environment: str) -> None:
    event = api_event("POST", "/users", environment_id=environment, body=ADD)
    event["multiValueHeaders"]["Idempotency-Key"] = ["a", "b"]
    event["headers"]["Idempotency-Key"] = "b"
    status, body = status_and_body(users(event=event))
    assert (status, body["error"]["code"]) == (400, "invalid_idempotency_key")


def test_reads_and_unknown_routes_ignore_the_header(
    users: Client, dynamodb_calls: list[str]
) -> None:
    assert users("GET", "/users/u1", "k")["statusCode"] == 404
    assert users("POST", "/users/u1", "k", body=ADD)["statusCode"] == 405
    assert users("POST", "/nowhere", "k", body=ADD)["statusCode"] == 404
    assert dynamodb_calls == ["GetItem"]  # the GET's read; no claim


def test_a_replayed_delete_answers_as_the_first_did(users: Client) -> None:
    users("POST", "/users", body=ADD)
    first = users("DELETE", "/users/u1", "key")
    users("POST", "/users", body=ADD)  # made again since
    again = users("DELETE", "/users/u1", "key")
    assert replayed(again) and again["body"] == first["body"]
    assert status_and_body(users("GET", "/users/u1"))[0] == 200  # the replay deleted nothing


def _now() -> float:
    import time

    return time.time()
