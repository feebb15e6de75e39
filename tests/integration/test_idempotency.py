"""Idempotency-Key through HTTP, on DynamoDB Local: a retried write changes nothing twice."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared.store import dynamo, keys
from shared.store import idempotency as records
from tests.integration.conftest import ApiClient, ApiResponse
from tests.integration.content_support import author, ok, questions_of, start
from tests.integration.receivers import Receiver

ADD_LOGIN = {"id": "ada", "attributes": {"logins": {"add": 1}}}


def keyed(key: str) -> dict[str, str | None]:
    return {"Idempotency-Key": key}


def logins(api: ApiClient, user_id: str = "ada") -> Any:
    return ok(api.request("GET", f"/users/{user_id}"))["attributes"].get("logins")


def error_code(response: ApiResponse) -> str:
    code: str = response.json()["error"]["code"]
    return code


def expire(api: ApiClient, key: str) -> None:
    """What 24 hours (or a crashed invocation's end) does to a key's record: `expires_at`
    passes. TTL may take days to remove it; until then the record counts as absent."""
    record = keys.idempotency_record(api.environment, records.digest(key))
    dynamo.client().update_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(record),
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues=dynamo.to_item({":past": int(time.time()) - 1}),
    )


def test_the_same_add_twice_with_one_key_counts_once(api: ApiClient) -> None:
    first = api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("login-1"))
    again = api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("login-1"))
    assert (first.status, again.status) == (200, 200)
    assert again.body == first.body  # the first response, byte for byte
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.headers["Idempotent-Replayed"] is None
    assert logins(api) == 1
    api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("login-2"))  # a new key runs
    assert logins(api) == 2


def test_parallel_retries_with_one_key_count_once(api: ApiClient) -> None:
    barrier = threading.Barrier(8)
    answers: list[ApiResponse] = []
    lock = threading.Lock()

    def retry() -> None:
        barrier.wait()
        response = api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("burst"))
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert logins(api) == 1
    done = [r for r in answers if r.status == 200]
    held = [r for r in answers if r.status != 200]
    assert done, [r.text for r in answers]
    assert len({r.body for r in done}) == 1  # the first response, however many got it
    for response in held:  # those that arrived while the first ran
        assert (response.status, error_code(response)) == (409, "idempotency_key_in_use")
        assert response.headers["Retry-After"] == "1"
    last = api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("burst"))
    assert last.body == done[0].body
    assert logins(api) == 1


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def test_an_event_retried_3_times_is_stored_and_notified_once(
    api: ApiClient, receiver: Receiver, wait_for_streams: Callable[[], None]
) -> None:
    ok(
        api.request(
            "POST", "/webhook_subscriptions", json={"url": receiver.url, "topics": ["event"]}
        )
    )
    event = {"user_id": "ada", "name": "invoice_paid", "attributes": {"amount": 30}}
    responses = [
        api.request("POST", "/events", json=event, headers=keyed("invoice-7")) for _ in range(3)
    ]
    assert [r.status for r in responses] == [200, 200, 200]
    assert len({r.body for r in responses}) == 1

    listed = ok(api.request("GET", "/events", query=[("user_id", "ada")]))["data"]
    assert [e["id"] for e in listed] == [responses[0].json()["id"]]
    # A later event without a key: once it and the first have arrived, every notification the
    # stream had by then was dispatched (a replay would have been among them).
    ok(api.request("POST", "/events", json={"user_id": "ada", "name": "sentinel"}))
    wait_for_streams()
    receiver.wait_for(lambda got: len(got) >= 2)
    assert sorted(receiver.topics()) == ["event.tracked.invoice_paid", "event.tracked.sentinel"]


def test_the_same_key_with_a_different_request_is_a_409(api: ApiClient) -> None:
    ok(api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("k")))
    for response in (
        api.request("POST", "/users", json={**ADD_LOGIN, "id": "bob"}, headers=keyed("k")),
        api.request("POST", "/groups", json={"id": "ada"}, headers=keyed("k")),
        api.request("DELETE", "/users/ada", headers=keyed("k")),
    ):
        assert (response.status, error_code(response)) == (409, "idempotency_key_reused")
    assert logins(api) == 1
    assert api.request("GET", "/users/bob").status == 404
    assert api.request("GET", "/groups/ada").status == 404


def test_the_same_key_in_two_environments_is_two_keys(api: ApiClient, other_api: ApiClient) -> None:
    ok(api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("shared")))
    other = other_api.request(
        "POST", "/users", json={**ADD_LOGIN, "attributes": {"x": 1}}, headers=keyed("shared")
    )
    assert other.status == 200 and other.headers["Idempotent-Replayed"] is None
    ok(other_api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("other")))
    assert (logins(api), logins(other_api)) == (1, 1)


def test_after_24_hours_a_key_runs_its_request_again(api: ApiClient) -> None:
    ok(api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("daily")))
    expire(api, "daily")
    again = api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("daily"))
    assert again.status == 200 and again.headers["Idempotent-Replayed"] is None
    assert logins(api) == 2


def test_a_key_held_by_a_crashed_request_is_free_once_its_invocation_would_have_ended(
    api: ApiClient,
) -> None:
    from shared.http.idempotency import fingerprint

    request = fingerprint("POST", "/users", {}, api_body(ADD_LOGIN))
    crashed = records.claim(
        api.environment, "crash", request, now=time.time(), in_flight_seconds=29
    )
    assert isinstance(crashed, records.Claimed)  # a request that will never answer
    held = api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("crash"))
    assert (held.status, error_code(held)) == (409, "idempotency_key_in_use")
    assert "still in progress" in held.json()["error"]["message"]
    expire(api, "crash")  # its invocation's time is up
    ok(api.request("POST", "/users", json=ADD_LOGIN, headers=keyed("crash")))
    assert logins(api) == 1


def api_body(body: Any) -> str:
    import json

    return json.dumps(body)  # what ApiClient sends


def test_an_invalid_key_is_a_400_that_writes_nothing(api: ApiClient) -> None:
    for key in ("", "x" * 256, "\u00e9t\u00e9"):
        response = api.request("POST", "/users", json=ADD_LOGIN, headers={"Idempotency-Key": key})
        assert (response.status, error_code(response)) == (400, "invalid_idempotency_key")
    assert api.request("GET", "/users/ada").status == 404


def test_a_retried_membership_delete_answers_as_the_first(api: ApiClient) -> None:
    ok(api.request("POST", "/users", json={"id": "ada", "groups": [{"id": "acme"}]}))
    query = [("user_id", "ada"), ("group_id", "acme")]
    first = api.request("DELETE", "/group_memberships", query=query, headers=keyed("leave"))
    again = api.request("DELETE", "/group_memberships", query=query, headers=keyed("leave"))
    assert first.json()["id"] is not None  # the first removed a membership
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"


def test_content_authoring_and_session_steps_take_the_header(api: ApiClient) -> None:
    body = {"name": "Tour", "type": "flow"}
    created = [
        ok(api.request("POST", "/content", json=body, headers=keyed("tour"))) for _ in range(2)
    ]
    assert created[0] == created[1]
    assert len(ok(api.request("GET", "/content"))["data"]) == 1

    content = author(api, questions=[{"name": "Score", "type": "nps"}])
    ok(api.request("POST", "/users", json={"id": "ada"}))
    session = start(api, content["id"], "ada")
    cvid = questions_of(api, content["published_version_id"])["nps"]["cvid"]
    answer = {"question_cvid": cvid, "answer_value": 9}
    path = f"/content_sessions/{session['id']}/answers"
    for _ in range(2):
        ok(api.request("POST", path, json=answer, headers=keyed("answer")))
    answered = ok(api.request("GET", "/events", query=[("name", "question_answered")]))["data"]
    assert len(answered) == 1


def test_webhook_subscription_writes_take_the_header(api: ApiClient, receiver: Receiver) -> None:
    body = {"url": receiver.url, "topics": ["user"]}
    first = ok(api.request("POST", "/webhook_subscriptions", json=body, headers=keyed("hook")))
    again = ok(api.request("POST", "/webhook_subscriptions", json=body, headers=keyed("hook")))
    assert again == first  # the same subscription, its secret shown again
    assert len(ok(api.request("GET", "/webhook_subscriptions"))["data"]) == 1

    path = f"/webhook_subscriptions/{first['id']}/test"
    key = str(uuid.uuid4())
    tests = [ok(api.request("POST", path, headers=keyed(key))) for _ in range(2)]
    assert tests[0] == tests[1]
    ok(api.request("POST", path))  # without a key: a second test notification
    received = receiver.wait_for(lambda got: len(got) >= 2)
    assert len({r.json()["id"] for r in received}) == 2
