"""What webhooks promise, end to end on the local stack (HTTP API -> DynamoDB Local stream ->
dispatch -> SQS (moto) -> delivery -> real receivers on loopback): a new subscription gets
the very next write, notifications of any size the API accepts arrive signed, recover
survives a queue failure, and receivers that refuse or hang cost only themselves."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.clock import now_iso
from shared.settings import get_settings
from shared.store import deliveries
from shared.webhooks import queue
from shared.webhooks.messages import DeliveryMessage, delivery_id_for
from tests.integration.conftest import ApiClient, NewEnvironment
from tests.integration.receivers import Receiver, verify_userflow_signature
from tests.support import NO_CONTEXT


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(**options: Any) -> Receiver:
        receiver = Receiver(**options).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def quick_probes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Backoff and probes 1,000 times faster (the 3-day window becomes about 4 minutes), for
    the stream, queue and probe consumers that run in this process."""
    monkeypatch.setenv("WEBHOOK_BACKOFF_SCALE", "0.001")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("WEBHOOK_BACKOFF_SCALE")
    get_settings.cache_clear()


def subscribe(api: ApiClient, url: str, topics: list[str]) -> dict[str, Any]:
    response = api.request("POST", "/webhook_subscriptions", json={"url": url, "topics": topics})
    assert response.status == 200, response.json()
    created: dict[str, Any] = response.json()
    return created


def user_ids(receiver: Receiver, topic: str) -> list[str]:
    return [
        r.json()["data"]["object"]["id"] for r in receiver.received if r.json()["topic"] == topic
    ]


def test_a_subscription_gets_the_write_right_after_its_create_with_a_warm_dispatcher(
    api: ApiClient, receivers: Callable[..., Receiver]
) -> None:
    early = receivers()
    subscribe(api, early.url, ["user"])
    api.request("POST", "/users", json={"id": "warm-up"})
    early.wait_for(lambda got: len(got) == 1)  # the dispatcher has this environment warm now

    late = receivers()
    subscribe(api, late.url, ["user"])
    assert api.request("POST", "/users", json={"id": "right-after"}).status == 200
    late.wait_for(lambda got: len(got) == 1)
    assert user_ids(late, "user.created") == ["right-after"]

    # PATCH takes effect for the next write as well: topics, then the URL.
    moved = receivers()
    subscription = subscribe(api, moved.url, ["group"])
    patched = api.request(
        "PATCH", f"/webhook_subscriptions/{subscription['id']}", json={"topics": ["user"]}
    )
    assert patched.status == 200
    api.request("POST", "/users", json={"id": "after-patch"})
    moved.wait_for(lambda got: len(got) == 1)
    assert user_ids(moved, "user.created") == ["after-patch"]


def test_a_240_kb_user_updated_in_full_reaches_both_subscribers_signed(
    api: ApiClient, receivers: Callable[..., Receiver]
) -> None:
    first, second = receivers(), receivers()
    secrets = [subscribe(api, r.url, ["user"])["secret"] for r in (first, second)]
    before = {f"field_{i}": "a" * 9_900 for i in range(24)}
    after = {f"field_{i}": "b" * 9_900 for i in range(24)}
    assert api.request("POST", "/users", json={"id": "big", "attributes": before}).status == 200
    assert api.request("POST", "/users", json={"id": "big", "attributes": after}).status == 200

    for receiver, secret in zip((first, second), secrets, strict=True):
        got = receiver.wait_for(lambda got: len(got) >= 2, timeout=60)
        by_topic = {r.json()["topic"]: r for r in got}
        assert set(by_topic) == {"user.created", "user.updated"}
        for request in got:
            verify_userflow_signature(request.body, request.headers["Userflow-Signature"], secret)
        updated = by_topic["user.updated"]
        assert len(updated.body) > 700_000  # object, previous and updated attributes
        data = updated.json()["data"]
        assert data["previous_attributes"] == before
        assert data["updated_attributes"] == after
        assert data["object"]["attributes"] == after


def test_the_delivery_log_points_at_a_large_body_and_shows_it_on_its_own(
    api: ApiClient, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    subscription = subscribe(api, receiver.url, ["user"])
    attributes = {f"field_{i}": "x" * 9_000 for i in range(10)}
    api.request("POST", "/users", json={"id": "large", "attributes": attributes})
    [request] = receiver.wait_for(lambda got: len(got) == 1)
    path = f"/webhook_subscriptions/{subscription['id']}/deliveries"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        [listed] = api.request("GET", path).json()["data"]
        if listed["status"] == "succeeded":
            break
        time.sleep(0.1)
    assert listed["status"] == "succeeded"
    assert (listed["notification"], listed["notification_stored"]) == (None, True)
    [attempt] = listed["attempts"]
    assert (attempt["status_code"], attempt["response_excerpt"]) == (200, "ok")
    one = api.request("GET", f"{path}/{listed['id']}").json()
    assert one["notification"] == request.json()


def test_recover_after_a_queue_failure_leaves_the_rest_for_the_next_recover(
    api: ApiClient, receivers: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from functions.webhook_subscriptions.handler import lambda_handler

    receiver = receivers()
    subscription = subscribe(api, receiver.url, ["user"])
    assert api.environment_id is not None
    since = now_iso()
    dead = []
    for n in range(25):  # deliveries that died while the receiver was gone
        notification_id = f"lost-{n}"
        message = DeliveryMessage(
            environment_id=api.environment_id,
            subscription_id=subscription["id"],
            delivery_id=delivery_id_for(notification_id, subscription["id"]),
            notification_id=notification_id,
            topic="user.created",
            body=json.dumps({"id": notification_id, "object": "webhook_notification"}),
            created_at=now_iso(),
            window_started_at=time.time() - 4 * 24 * 3600,
        )
        deliveries.record_attempt(message, {"status_code": 503}, "dead")
        dead.append(message)

    # SQS takes the first batch of ten, then fails: the function is called here, in process,
    # with the queue client broken after one call.
    real_send = queue.client().send_message_batch
    calls: list[int] = []

    def flaky_send(**arguments: Any) -> Any:
        calls.append(len(arguments["Entries"]))
        if len(calls) > 1:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "x"}}, "Send")
        return real_send(**arguments)

    monkeypatch.setattr(queue.client(), "send_message_batch", flaky_send)
    event = _api_event("POST", f"/webhook_subscriptions/{subscription['id']}/recover", api)
    event["body"] = json.dumps({"since": since})
    response = lambda_handler(event, NO_CONTEXT)
    assert response["statusCode"] == 200
    first = json.loads(response["body"])
    assert (first["resent_count"], first["has_more"]) == (10, True)
    monkeypatch.undo()

    receiver.wait_for(lambda got: len(got) == 10)
    again = api.request(
        "POST", f"/webhook_subscriptions/{subscription['id']}/recover", json={"since": since}
    ).json()
    assert (again["resent_count"], again["has_more"]) == (15, False)
    receiver.wait_for(lambda got: len(got) >= 25)
    assert receiver.ids() == {m.notification_id for m in dead}


def _api_event(method: str, path: str, api: ApiClient) -> dict[str, Any]:
    """The proxy event API Gateway would send for an authorized request."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Userflow-Version": "2020-01-03", "Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": "in-process",
            "stage": "local",
            "httpMethod": method,
            "path": path,
            "authorizer": {"environment_id": api.environment_id},
        },
    }


class Hang:
    """A receiver behaviour that answers nothing until released. The sender cuts at 15 s; the
    request ends here a little later, so its span covers the attempt."""

    def __init__(self) -> None:
        self.released = threading.Event()

    def __call__(self, n: int) -> int:
        self.released.wait(16)
        return 200


def test_refusing_and_hanging_receivers_cost_only_themselves_and_get_their_backlog_later(
    new_environment: NewEnvironment,
    receivers: Callable[..., Receiver],
    quick_probes: None,
) -> None:
    """Two environments: healthy receivers beside one answering 503 and one that hangs in
    the first, beside one answering 503 in the second. Once their circuits are open, the
    broken receivers get one request at a time (a probe), whatever is written; every healthy
    receiver gets every notification meanwhile; and the broken ones get their whole backlog
    once they answer again."""
    first, second = new_environment("Noisy"), new_environment("Quiet")
    healthy = {"first": receivers(), "second": receivers()}
    failing = {name: receivers(behaviour=lambda n: 503) for name in ("first", "second")}
    hang = Hang()
    hanging = receivers(behaviour=hang)
    broken: list[tuple[ApiClient, str]] = []
    for api, name in ((first, "first"), (second, "second")):
        subscribe(api, healthy[name].url, ["user"])
        broken.append((api, subscribe(api, failing[name].url, ["user"])["id"]))
    broken.append((first, subscribe(first, hanging.url, ["user"])["id"]))

    def write(users: range) -> None:
        work = [(api, n) for n in users for api in (first, second)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = pool.map(
                lambda job: job[0].request("POST", "/users", json={"id": f"user-{job[1]}"}).status,
                work,
            )
            assert set(statuses) == {200}

    write(range(20))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        circuits = [
            api.request("GET", f"/webhook_subscriptions/{sid}").json()["circuit"]
            for api, sid in broken
        ]
        if all(c is not None and c["state"] == "open" for c in circuits):
            break
        time.sleep(0.2)
    assert all(c is not None and c["state"] == "open" for c in circuits), circuits
    while hanging.in_flight > 1 and time.monotonic() < deadline:
        time.sleep(0.2)  # the attempts made before its circuit opened end at 15 s
    settled = time.monotonic()

    write(range(20, 40))
    for receiver in healthy.values():
        receiver.wait_for(lambda got: len({r.json()["id"] for r in got}) >= 40, timeout=90)
        assert sorted(user_ids(receiver, "user.created")) == sorted(f"user-{n}" for n in range(40))
    time.sleep(2.0)  # probes come every few milliseconds to seconds at this speed
    for receiver in (*failing.values(), hanging):
        # Off the shared path: whatever is written, one request at a time, the probe.
        assert receiver.most_at_once(since=settled) <= 1

    # They answer again: every notification they missed arrives, each id at least once.
    for receiver in failing.values():
        receiver.behaviour = lambda n: 200
    hang.released.set()
    for receiver in (*failing.values(), hanging):
        receiver.wait_for(lambda got: len({r.json()["id"] for r in got}) >= 40, timeout=120)
        assert {f"user-{n}" for n in range(40)} == set(user_ids(receiver, "user.created"))
