"""Webhooks end to end on the local stack: API write -> DynamoDB Local stream -> dispatch ->
SQS (moto server) -> delivery -> a real receiver on loopback."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from functions.webhook_delivery.handler import lambda_handler as delivery_handler
from shared.settings import get_settings
from shared.webhooks import queue, sender
from shared.webhooks.messages import DeliveryMessage, delivery_id_for
from tests.integration.conftest import ApiClient
from tests.integration.receivers import Receiver, verify_userflow_signature
from tests.support import NO_CONTEXT


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def compressed_backoff(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """Shrink the retry schedule (3 days -> about 5 s) for the delivery function in this
    process; never the default."""
    scale = 0.00002
    monkeypatch.setenv("WEBHOOK_BACKOFF_SCALE", str(scale))
    get_settings.cache_clear()
    yield scale
    monkeypatch.delenv("WEBHOOK_BACKOFF_SCALE")
    get_settings.cache_clear()


def subscribe(api: ApiClient, url: str, topics: list[str], **extra: Any) -> dict[str, Any]:
    response = api.request(
        "POST", "/webhook_subscriptions", json={"url": url, "topics": topics, **extra}
    )
    assert response.status == 200, response.json()
    created: dict[str, Any] = response.json()
    return created


def deliveries(api: ApiClient, subscription_id: str) -> list[dict[str, Any]]:
    path = f"/webhook_subscriptions/{subscription_id}/deliveries"
    found: list[dict[str, Any]] = api.request("GET", path, query=[("limit", "100")]).json()["data"]
    return found


def wait_for_status(
    api: ApiClient, subscription_id: str, status: str, timeout: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [d for d in deliveries(api, subscription_id) if d["status"] == status]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no delivery reached {status!r}: {deliveries(api, subscription_id)}")


def test_changes_reach_the_receiver_signed(api: ApiClient, receiver: Receiver) -> None:
    subscription = subscribe(api, receiver.url, ["*"], standard_webhooks=True)
    secret = subscription["secret"]

    api.request("POST", "/users", json={"id": "u1", "attributes": {"plan": "free", "n": 1}})
    receiver.wait_for(lambda got: len(got) >= 1)
    api.request("POST", "/users", json={"id": "u1", "attributes": {"plan": "pro", "n": 1}})
    receiver.wait_for(lambda got: len(got) >= 2)
    api.request("POST", "/users", json={"id": "u1", "attributes": {"plan": "pro"}})  # no change
    api.request("POST", "/groups", json={"id": "g1", "attributes": {"name": "Acme"}})
    api.request("POST", "/groups", json={"id": "g1", "attributes": {"name": "Acme Inc."}})
    api.request(
        "POST",
        "/events",
        json={"user_id": "u1", "name": "plan_upgraded", "attributes": {"to": "pro"}},
    )
    got = receiver.wait_for(lambda got: len(got) >= 5)
    time.sleep(1.0)  # anything extra (the no-op write) would have arrived by now
    assert sorted(receiver.topics()) == sorted(
        [
            "user.created",
            "user.updated",
            "group.created",
            "group.updated",
            "event.tracked.plan_upgraded",
        ]
    )
    by_topic = {r.json()["topic"]: r for r in got}
    for request in got:
        assert request.headers["Content-Type"] == "application/json; charset=utf-8"
        assert request.headers["User-Agent"]
        verify_userflow_signature(request.body, request.headers["Userflow-Signature"], secret)
        Webhook(secret).verify(request.body, request.headers)  # the Standard Webhooks package
        notification = request.json()
        assert notification["object"] == "webhook_notification"
        assert notification["api_version"] == "2020-01-03"
        assert set(notification) == {"id", "object", "api_version", "created_at", "data", "topic"}

    updated = by_topic["user.updated"].json()["data"]
    assert updated["object"]["attributes"] == {"plan": "pro", "n": 1}
    assert updated["previous_attributes"] == {"plan": "free"}
    assert updated["updated_attributes"] == {"plan": "pro"}
    created = by_topic["user.created"].json()["data"]
    assert created["object"]["object"] == "user" and "previous_attributes" not in created
    event = by_topic["event.tracked.plan_upgraded"].json()["data"]["object"]
    assert (event["object"], event["name"], event["user_id"]) == ("event", "plan_upgraded", "u1")
    assert event["attributes"] == {"to": "pro"}


def test_topics_filter_what_a_subscription_gets(api: ApiClient, receiver: Receiver) -> None:
    other = Receiver().start()
    try:
        subscribe(api, receiver.url, ["event.tracked.signed_up"])
        subscribe(api, other.url, ["user"])
        api.request("POST", "/users", json={"id": "u1"})
        api.request("POST", "/events", json={"user_id": "u1", "name": "clicked"})
        api.request("POST", "/events", json={"user_id": "u1", "name": "signed_up"})
        receiver.wait_for(lambda got: len(got) >= 1)
        other.wait_for(lambda got: len(got) >= 1)
        time.sleep(1.0)
        assert receiver.topics() == ["event.tracked.signed_up"]
        assert other.topics() == ["user.created"]
    finally:
        other.stop()


def test_a_receiver_down_for_a_while_gets_it_later_with_the_same_id(
    api: ApiClient, compressed_backoff: float
) -> None:
    flaky = Receiver(behaviour=lambda n: 500 if n < 3 else 200).start()
    try:
        subscription = subscribe(api, flaky.url, ["user"])
        api.request("POST", "/users", json={"id": "u1"})
        got = flaky.wait_for(lambda got: len(got) >= 4)
        assert len({r.json()["id"] for r in got}) == 1
        delivery = wait_for_status(api, subscription["id"], "succeeded")
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 500, 200]
        # Two retries on the shared queue; the third failure in a row opened the circuit and
        # the notification waited in the backlog until a probe delivered it.
        assert all(a["next_attempt_at"] for a in delivery["attempts"][:2])
        assert delivery["attempts"][2]["next_attempt_at"] is None
    finally:
        flaky.stop()


def test_a_receiver_down_past_the_window_is_dead_lettered_recorded_and_recoverable(
    api: ApiClient, compressed_backoff: float
) -> None:
    down = Receiver(behaviour=lambda n: 503).start()
    try:
        # Notifications are timed by their stream record, which DynamoDB rounds to the second.
        since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        subscription = subscribe(api, down.url, ["user"])
        api.request("POST", "/users", json={"id": "u1"})
        dead = wait_for_status(api, subscription["id"], "dead")
        assert len(dead["attempts"]) >= 2
        assert dead["attempts"][-1]["next_attempt_at"] is None
        assert dead["id"] in _parked_delivery_ids()

        # The receiver is back: recovery resends what failed, with the same notification id.
        down.behaviour = lambda n: 200
        attempts_before = len(down.received)
        recovered = api.request(
            "POST", f"/webhook_subscriptions/{subscription['id']}/recover", json={"since": since}
        )
        assert recovered.status == 200 and recovered.json()["resent_count"] == 1
        got = down.wait_for(lambda got: len(got) > attempts_before)
        assert got[-1].json()["id"] == got[0].json()["id"]
        assert wait_for_status(api, subscription["id"], "succeeded")["id"] == dead["id"]
    finally:
        down.stop()


def _parked_delivery_ids() -> set[str]:
    """The delivery ids on the dead-letter queue (other tests park theirs there too)."""
    found: set[str] = set()
    for _ in range(50):
        parked = (
            queue.client()
            .receive_message(
                QueueUrl=get_settings().webhook_dead_letter_queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                VisibilityTimeout=60,
            )
            .get("Messages", [])
        )
        if not parked:
            break
        for message in parked:
            with contextlib.suppress(ValueError):  # a body that never parsed is parked as is
                found.add(DeliveryMessage.from_json(message["Body"]).delivery_id)
    return found


def test_a_test_notification_reaches_only_that_subscription(
    api: ApiClient, receiver: Receiver
) -> None:
    other = Receiver().start()
    try:
        subscription = subscribe(api, receiver.url, ["user"])
        subscribe(api, other.url, ["*"])
        sent = api.request("POST", f"/webhook_subscriptions/{subscription['id']}/test")
        assert sent.status == 200
        [request] = receiver.wait_for(lambda got: len(got) == 1)
        assert request.json()["topic"] == "webhook.test"
        verify_userflow_signature(
            request.body, request.headers["Userflow-Signature"], subscription["secret"]
        )
        time.sleep(1.0)
        assert other.received == []
    finally:
        other.stop()


def _message(api: Any, subscription_id: str, notification_id: str) -> dict[str, Any]:
    body = json.dumps(
        {
            "id": notification_id,
            "object": "webhook_notification",
            "api_version": "2020-01-03",
            "created_at": "2026-11-25T00:00:00.000+00:00",
            "data": {"object": {}},
            "topic": "user.created",
        }
    )
    message = DeliveryMessage(
        environment_id=api.environment_id,
        subscription_id=subscription_id,
        delivery_id=delivery_id_for(notification_id, subscription_id),
        notification_id=notification_id,
        topic="user.created",
        body=body,
        created_at="2026-11-25T00:00:00.000+00:00",
        window_started_at=time.time(),
    )
    return {
        "messageId": notification_id,
        "receiptHandle": f"handle-{notification_id}",
        "body": message.to_json(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "eventSource": "aws:sqs",
    }


def test_a_crash_mid_batch_fails_only_that_message(
    api: ApiClient, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = subscribe(api, receiver.url, ["user"])
    real_post = sender.post

    def crash_on_second(url: str, body: bytes, headers: dict[str, str], **kwargs: Any) -> Any:
        if json.loads(body)["id"] == "n2":
            raise RuntimeError("the function died here")
        return real_post(url, body, headers, **kwargs)

    monkeypatch.setattr(sender, "post", crash_on_second)
    records = [_message(api, subscription["id"], n) for n in ("n1", "n2", "n3")]
    result = delivery_handler({"Records": records}, NO_CONTEXT)
    assert result == {"batchItemFailures": [{"itemIdentifier": "n2"}]}
    assert sorted(r.json()["id"] for r in receiver.received) == ["n1", "n3"]

    monkeypatch.setattr(sender, "post", real_post)  # SQS hands the failed message back
    assert delivery_handler({"Records": [records[1]]}, NO_CONTEXT) == {"batchItemFailures": []}
    assert sorted(r.json()["id"] for r in receiver.received) == ["n1", "n2", "n3"]


def test_a_hanging_receiver_is_cut_at_15_seconds_and_moved_off_the_shared_queue(
    api: ApiClient, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def hang(n: int) -> int:
        release.wait(60)
        return 200

    hanging = Receiver(behaviour=hang).start()
    monkeypatch.setattr(queue, "postpone", lambda handle, delay: None)  # no real receipt
    try:
        fast = subscribe(api, receiver.url, ["user"])
        slow = subscribe(api, hanging.url, ["user"])
        records = [
            _message(api, slow["id"], "slow"),
            _message(api, fast["id"], "fast1"),
            _message(api, fast["id"], "fast2"),
        ]
        outcome: dict[str, Any] = {}
        worker = threading.Thread(
            target=lambda: outcome.update(result=delivery_handler({"Records": records}, NO_CONTEXT))
        )
        worker.start()
        receiver.wait_for(lambda got: len(got) == 2)
        assert worker.is_alive()  # the fast ones are done while the slow one still hangs
        worker.join(timeout=30)
        # A timeout opens the circuit at once: the message leaves the shared queue for the
        # subscription's backlog, where one probe at a time will try it.
        assert outcome["result"] == {"batchItemFailures": []}
        [attempt] = wait_for_status(api, slow["id"], "backlogged")["attempts"]
        assert attempt["status_code"] is None
        assert "timed out after 15 s" in attempt["error"]
        circuit = api.request("GET", f"/webhook_subscriptions/{slow['id']}").json()["circuit"]
        assert circuit["state"] == "open"
    finally:
        release.set()
        hanging.stop()


def test_subscriptions_never_receive_another_environments_changes(
    api: ApiClient, other_api: ApiClient, receiver: Receiver
) -> None:
    theirs = Receiver().start()
    try:
        subscribe(api, receiver.url, ["*"])
        subscribe(other_api, theirs.url, ["*"])
        api.request("POST", "/users", json={"id": "mine", "attributes": {"secret": "a"}})
        other_api.request("POST", "/users", json={"id": "theirs"})
        receiver.wait_for(lambda got: len(got) >= 1)
        theirs.wait_for(lambda got: len(got) >= 1)
        time.sleep(1.0)
        assert [r.json()["data"]["object"]["id"] for r in receiver.received] == ["mine"]
        assert [r.json()["data"]["object"]["id"] for r in theirs.received] == ["theirs"]
    finally:
        theirs.stop()


# --- SSRF: outside local development, internal addresses are refused --------------------------


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1"])
def test_names_resolving_to_internal_addresses_are_refused(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    outcome = sender.post("https://hooks.example.com/x", b"{}", {}, allow_loopback=False)
    assert outcome.status_code is None and outcome.error and "refused" in outcome.error


def test_loopback_receivers_need_the_local_development_switch(receiver: Receiver) -> None:
    refused = sender.post(receiver.url, b"{}", {}, allow_loopback=False)
    assert refused.status_code is None and "refused" in (refused.error or "")
    assert receiver.received == []
    allowed = sender.post(receiver.url, b"{}", {}, allow_loopback=True)
    assert allowed.succeeded and len(receiver.received) == 1


def test_redirects_are_never_followed() -> None:
    target = Receiver().start()
    redirecting = Receiver(behaviour=lambda n: 302, redirect_to=target.url).start()
    try:
        outcome = sender.post(redirecting.url, b"{}", {}, allow_loopback=True)
        assert outcome.status_code == 302 and not outcome.succeeded
        assert "redirect" in (outcome.error or "")
        assert target.received == []
    finally:
        target.stop()
        redirecting.stop()
