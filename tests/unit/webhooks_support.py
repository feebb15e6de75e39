"""Helpers for the webhook unit tests: a stand-in receiver and ready-made queue messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3

from shared.store import subscriptions
from shared.webhooks.messages import DeliveryMessage, delivery_id_for
from shared.webhooks.sender import Outcome

URL = "https://hooks.example.com/waymark"
OK = Outcome(200, 12, None, response_excerpt="ok")
DOWN = Outcome(500, 30, "HTTP 500")
REFUSED = Outcome(None, 1, "ConnectionRefusedError: [Errno 111] Connection refused")
HUNG = Outcome(None, 15_000, "timed out after 15 s", timed_out=True)


class FakeReceiver:
    """Stands in for sender.post: answers with the next outcome and keeps what was sent."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str], **_: Any) -> Outcome:
        self.sent.append((url, body, headers))
        return self.outcomes.pop(0)


def message_for(environment: str, subscription_id: str, **overrides: Any) -> DeliveryMessage:
    notification_id = overrides.pop("notification_id", "n1")
    fields: dict[str, Any] = {
        "environment_id": environment,
        "subscription_id": subscription_id,
        "delivery_id": delivery_id_for(notification_id, subscription_id),
        "notification_id": notification_id,
        "topic": "user.created",
        "body": json.dumps({"id": notification_id, "object": "webhook_notification"}),
        "created_at": "2026-11-25T00:00:00.000+00:00",
        "window_started_at": datetime.now(UTC).timestamp(),
        **overrides,
    }
    return DeliveryMessage(**fields)


def receipt(queue_url: str, message: DeliveryMessage) -> str:
    """Queues the message and receives it, as the event source mapping would."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.send_message(QueueUrl=queue_url, MessageBody=message.to_json())
    handle: str = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["ReceiptHandle"]
    return handle


def queued(queue_url: str) -> list[DeliveryMessage]:
    """Takes every message off a queue."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    found: list[DeliveryMessage] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            found.append(DeliveryMessage.from_json(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def subscribe(environment: str, **extra: Any) -> subscriptions.Subscription:
    return subscriptions.create(
        environment, api_version="2020-01-03", topics=["*"], url=URL, **extra
    )
