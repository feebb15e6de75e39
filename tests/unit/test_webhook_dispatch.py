"""The dispatch function on moto: stream records in, one queue message per matching
subscription out, the same ids on a replay, nothing for disabled subscriptions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions.webhook_dispatch.handler import lambda_handler as dispatch
from shared.clock import now_iso
from shared.store import dynamo, keys, subscriptions
from shared.webhooks import bodies, queue
from shared.webhooks.messages import DeliveryMessage
from tests.support import NO_CONTEXT

URL = "https://hooks.example.com/waymark"


@pytest.fixture
def queue_url(table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url: str = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="dispatch")[
        "QueueUrl"
    ]
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", url)
    monkeypatch.delenv("SQS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("WEBHOOK_BODIES_BUCKET", "waymark-bodies-unit")
    monkeypatch.delenv("S3_ENDPOINT_URL", raising=False)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="waymark-bodies-unit")
    queue.reset()
    bodies.reset()
    yield url
    queue.reset()
    bodies.reset()


def drain(queue_url: str, groups: list[str] | None = None) -> list[DeliveryMessage]:
    """Every queued message; `groups` collects their MessageGroupIds."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    found: list[DeliveryMessage] = []
    while messages := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages", []):
        for message in messages:
            found.append(DeliveryMessage.from_json(message["Body"]))
            if groups is not None:
                groups.append(message["Attributes"].get("MessageGroupId", ""))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def user_item(environment: str, user_id: str, **attributes: Any) -> dict[str, Any]:
    return {
        **keys.user(environment, user_id),
        "id": user_id,
        "created_at": "2026-11-25T10:00:00.000+00:00",
        **{f"a#{name}": value for name, value in attributes.items()},
    }


def stream_record(
    event_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> dict[str, Any]:
    image = new or old or {}
    dynamodb: dict[str, Any] = {
        "Keys": dynamo.to_item({"PK": image["PK"], "SK": image["SK"]}),
        "SequenceNumber": event_id,
        "ApproximateCreationDateTime": 1_795_000_000,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        dynamodb["OldImage"] = dynamo.to_item(old)
    if new is not None:
        dynamodb["NewImage"] = dynamo.to_item(new)
    name = "MODIFY" if old and new else ("INSERT" if new else "REMOVE")
    return {
        "eventID": event_id,
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "dynamodb": dynamodb,
    }


def test_one_message_per_matching_subscription_and_replays_keep_ids(
    environment: str, queue_url: str
) -> None:
    everything = subscriptions.create(environment, api_version="2020-01-03", topics=["*"], url=URL)
    users_only = subscriptions.create(
        environment, api_version="2020-01-03", topics=["user.updated"], url=URL
    )
    subscriptions.create(environment, api_version="2020-01-03", topics=["group"], url=URL)
    old = user_item(environment, "u1", plan="free")
    new = user_item(environment, "u1", plan="pro")
    batch = {"Records": [stream_record("e1", None, old), stream_record("e2", old, new)]}

    assert dispatch(batch, NO_CONTEXT) == {"batchItemFailures": []}
    first = drain(queue_url)
    assert sorted((m.topic, m.subscription_id) for m in first) == sorted(
        [
            ("user.created", everything.id),
            ("user.updated", everything.id),
            ("user.updated", users_only.id),
        ]
    )
    updated = json.loads(next(m.body or "" for m in first if m.topic == "user.updated"))
    assert updated["data"]["previous_attributes"] == {"plan": "free"}
    assert updated["data"]["updated_attributes"] == {"plan": "pro"}

    dispatch(batch, NO_CONTEXT)  # the event source mapping replays a batch
    replayed = drain(queue_url)
    assert sorted(m.notification_id for m in replayed) == sorted(m.notification_id for m in first)
    assert sorted(m.delivery_id for m in replayed) == sorted(m.delivery_id for m in first)


def test_no_change_and_other_items_send_nothing(environment: str, queue_url: str) -> None:
    subscriptions.create(environment, api_version="2020-01-03", topics=["*"], url=URL)
    same = user_item(environment, "u1", plan="pro")
    membership = {**keys.membership(environment, "u1", "g1"), "created_at": "x", "id": "m"}
    dispatch(
        {
            "Records": [
                stream_record("e1", same, dict(same, v=2)),
                stream_record("e2", None, membership),
            ]
        },
        NO_CONTEXT,
    )
    assert drain(queue_url) == []


def test_disabled_subscriptions_get_nothing_new(environment: str, queue_url: str) -> None:
    subscription = subscriptions.create(
        environment, api_version="2020-01-03", topics=["*"], url=URL
    )
    subscriptions.update(environment, subscription.id, disabled=True)
    dispatch({"Records": [stream_record("e1", None, user_item(environment, "u1"))]}, NO_CONTEXT)
    assert drain(queue_url) == []


def test_other_environments_subscriptions_are_never_matched(
    environment: str, queue_url: str
) -> None:
    from shared.store import tenancy

    other = tenancy.create_environment("Other").id
    subscriptions.create(other, api_version="2020-01-03", topics=["*"], url=URL)
    dispatch({"Records": [stream_record("e1", None, user_item(environment, "u1"))]}, NO_CONTEXT)
    assert drain(queue_url) == []


def test_a_subscription_created_after_a_batch_gets_the_very_next_write(
    environment: str, queue_url: str
) -> None:
    """A warm dispatcher keeps nothing between batches: the reference's "immediately"."""
    dispatch({"Records": [stream_record("e1", None, user_item(environment, "u1"))]}, NO_CONTEXT)
    assert drain(queue_url) == []  # nobody subscribed yet, and the environment is warm
    created = subscriptions.create(environment, api_version="2020-01-03", topics=["user"], url=URL)
    dispatch({"Records": [stream_record("e2", None, user_item(environment, "u2"))]}, NO_CONTEXT)
    assert [m.subscription_id for m in drain(queue_url)] == [created.id]

    subscriptions.update(environment, created.id, topics=["group"])
    dispatch({"Records": [stream_record("e3", None, user_item(environment, "u3"))]}, NO_CONTEXT)
    assert drain(queue_url) == []  # a PATCH takes effect for the next write too


def test_subscriptions_are_read_once_per_environment_per_batch(
    environment: str, queue_url: str
) -> None:
    from shared.store import tenancy

    other = tenancy.create_environment("Other").id
    for env in (environment, other):
        subscriptions.create(env, api_version="2020-01-03", topics=["*"], url=URL)
    queries: list[str] = []
    dynamo.client().meta.events.register(
        "provide-client-params.dynamodb.Query",
        lambda params, **_: queries.append(params["ExpressionAttributeValues"][":pk"]["S"]),
    )
    records = [
        stream_record(f"e{i}", None, user_item(env, f"u{i}"))
        for i in range(20)
        for env in (environment, other)
    ]
    assert dispatch({"Records": records}, NO_CONTEXT) == {"batchItemFailures": []}
    assert sorted(queries) == sorted(keys.webhook_subscriptions(e) for e in (environment, other))
    groups: list[str] = []
    messages = drain(queue_url, groups)
    assert len(messages) == 40
    # Each message names its environment as MessageGroupId: the queue is a fair queue.
    assert sorted(set(zip([m.environment_id for m in messages], groups, strict=True))) == sorted(
        [(environment, environment), (other, other)]
    )


def test_a_notification_too_large_for_a_message_waits_in_the_bucket_once(
    environment: str, queue_url: str
) -> None:
    subscribers = [
        subscriptions.create(environment, api_version="2020-01-03", topics=["user"], url=URL)
        for _ in range(2)
    ]
    big = {f"field_{i}": "x" * 9_900 for i in range(24)}  # about 240 KB of attributes
    old = user_item(environment, "u1", **{k: "y" * 9_900 for k in big})
    new = user_item(environment, "u1", **big)
    assert dispatch({"Records": [stream_record("e1", old, new)]}, NO_CONTEXT) == {
        "batchItemFailures": []
    }
    messages = drain(queue_url)
    assert sorted(m.subscription_id for m in messages) == sorted(s.id for s in subscribers)
    assert all(m.body is None and m.body_key for m in messages)
    assert all(m.size() < bodies.INLINE_LIMIT for m in messages)
    assert len({m.body_key for m in messages}) == 1  # one object for both subscriptions
    stored = json.loads(bodies.load(messages[0].body_key or ""))
    assert stored["topic"] == "user.updated"
    assert stored["data"]["updated_attributes"] == big
    assert len(json.dumps(stored)) > 3 * 200_000  # object, previous and updated attributes


def test_a_failing_receivers_notifications_go_straight_to_its_backlog(
    environment: str, queue_url: str
) -> None:
    from shared.store import backlog

    failing = subscriptions.create(environment, api_version="2020-01-03", topics=["*"], url=URL)
    healthy = subscriptions.create(environment, api_version="2020-01-03", topics=["*"], url=URL)
    assert subscriptions.open_circuit(
        environment, failing.id, now=now_iso(), next_probe_at=now_iso()
    )
    records = [stream_record(f"e{i}", None, user_item(environment, f"u{i}")) for i in range(3)]
    assert dispatch({"Records": records}, NO_CONTEXT) == {"batchItemFailures": []}
    assert {m.subscription_id for m in drain(queue_url)} == {healthy.id}
    held = [m for e in backlog.oldest(environment, failing.id, limit=10) for m in e.messages]
    assert sorted(m.subscription_id for m in held) == [failing.id] * 3
    assert len({m.notification_id for m in held}) == 3
    # The batch's three notifications are one backlog write, not three.
    assert len(backlog.oldest(environment, failing.id, limit=10)) == 1
    opened = subscriptions.get(environment, failing.id)
    assert opened is not None and opened.circuit is not None
    assert opened.circuit.backlog_seq == 1  # counted, so a drain never closes over them

    # Closed since: the next batch queues them as usual.
    assert subscriptions.close_circuit(environment, failing.id, backlog_seq=1)
    dispatch({"Records": [stream_record("e9", None, user_item(environment, "u9"))]}, NO_CONTEXT)
    assert sorted(m.subscription_id for m in drain(queue_url)) == sorted([failing.id, healthy.id])
