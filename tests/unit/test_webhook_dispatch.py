"""The dispatch function on moto: stream records in, one queue message per matching
subscription out, the same ids on a replay, nothing for disabled subscriptions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions.webhook_dispatch.handler import lambda_handler as dispatch
from shared.services import dispatch as dispatch_service
from shared.store import dynamo, keys
from shared.store import webhooks as subscriptions
from shared.webhooks import queue
from shared.webhooks.messages import DeliveryMessage

URL = "https://hooks.example.com/waymark"


@pytest.fixture
def queue_url(table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url: str = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="dispatch")[
        "QueueUrl"
    ]
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", url)
    monkeypatch.delenv("SQS_ENDPOINT_URL", raising=False)
    queue.reset()
    dispatch_service.forget_subscriptions()
    yield url
    queue.reset()
    dispatch_service.forget_subscriptions()


def drain(queue_url: str) -> list[DeliveryMessage]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    found: list[DeliveryMessage] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            found.append(DeliveryMessage.from_json(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def user_item(environment: str, user_id: str, **attributes: Any) -> dict[str, Any]:
    return {
        **keys.user(environment, user_id),
        "id": user_id,
        "created_at": "2026-11-25T10:00:00.000+00:00",
        **{f"a#{name}": value for name, value in attributes.items()},
    }


def stream_record(event_id: str, old: dict | None, new: dict | None) -> dict[str, Any]:
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

    assert dispatch(batch, None) == {"batchItemFailures": []}
    first = drain(queue_url)
    assert sorted((m.topic, m.subscription_id) for m in first) == sorted(
        [
            ("user.created", everything.id),
            ("user.updated", everything.id),
            ("user.updated", users_only.id),
        ]
    )
    updated = json.loads(next(m.body for m in first if m.topic == "user.updated"))
    assert updated["data"]["previous_attributes"] == {"plan": "free"}
    assert updated["data"]["updated_attributes"] == {"plan": "pro"}

    dispatch(batch, None)  # the event source mapping replays a batch
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
        None,
    )
    assert drain(queue_url) == []


def test_disabled_subscriptions_get_nothing_new(environment: str, queue_url: str) -> None:
    subscription = subscriptions.create(
        environment, api_version="2020-01-03", topics=["*"], url=URL
    )
    subscriptions.update(environment, subscription.id, disabled=True)
    dispatch({"Records": [stream_record("e1", None, user_item(environment, "u1"))]}, None)
    assert drain(queue_url) == []


def test_other_environments_subscriptions_are_never_matched(
    environment: str, queue_url: str
) -> None:
    from shared.store import tenancy

    other = tenancy.create_environment("Other").id
    subscriptions.create(other, api_version="2020-01-03", topics=["*"], url=URL)
    dispatch({"Records": [stream_record("e1", None, user_item(environment, "u1"))]}, None)
    assert drain(queue_url) == []
