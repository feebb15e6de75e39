"""One delivery attempt and its consequences (moto for the table and the queues; the HTTP
POST is replaced by a recorded outcome, since unit tests have no network)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from shared.clock import format_timestamp
from shared.services import delivery
from shared.store import deliveries, subscriptions
from shared.webhooks import queue, sender
from shared.webhooks.messages import DeliveryMessage, delivery_id_for
from shared.webhooks.sender import Outcome
from tests.support import NO_CONTEXT
from tests.unit.webhooks_support import DOWN, OK, URL, FakeReceiver, message_for, receipt, subscribe


def test_success_is_signed_and_recorded(
    environment: str, queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = subscribe(environment, standard_webhooks=True)
    receiver = FakeReceiver(OK)
    monkeypatch.setattr(sender, "post", receiver)
    message = message_for(environment, subscription.id)

    assert delivery.deliver(message.to_json(), receipt(queues["queue"], message), 1) == "succeeded"
    [(url, body, headers)] = receiver.sent
    assert url == URL and body == (message.body or "").encode()
    timestamp, signature = (
        part.split("=", 1)[1] for part in headers["Userflow-Signature"].split(",")
    )
    expected = hmac.new(
        subscription.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert signature == expected
    assert headers["webhook-id"] == "n1"
    logged = deliveries.get_delivery(environment, subscription.id, message.delivery_id)
    assert logged is not None and logged.status == "succeeded"
    assert [a["status_code"] for a in logged.attempts] == [200]


def test_during_a_rotation_both_secrets_sign(
    environment: str, queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = subscribe(environment)
    new_secret = subscriptions.rotate_secret(environment, subscription.id, grace_seconds=3600)
    receiver = FakeReceiver(OK)
    monkeypatch.setattr(sender, "post", receiver)
    message = message_for(environment, subscription.id)
    delivery.deliver(message.to_json(), receipt(queues["queue"], message), 1)

    [(_, body, headers)] = receiver.sent
    parts = [part.split("=", 1) for part in headers["Userflow-Signature"].split(",")]
    timestamp = next(value for key, value in parts if key == "t")
    signatures = [value for key, value in parts if key == "v1"]
    for secret in (new_secret, subscription.secret):
        assert secret is not None
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        assert expected.hexdigest() in signatures
    assert len(signatures) == 2


def test_a_failure_postpones_the_message_and_logs_the_next_attempt(
    environment: str, queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = subscribe(environment)
    monkeypatch.setattr(sender, "post", FakeReceiver(Outcome(429, 5, "HTTP 429", "120")))
    postponed: list[float] = []
    monkeypatch.setattr(queue, "postpone", lambda handle, delay: postponed.append(delay))
    message = message_for(environment, subscription.id)

    with pytest.raises(delivery.RetryLater):
        delivery.deliver(message.to_json(), "handle", 1)
    assert postponed and 120 <= postponed[0] <= 12 * 3600  # Retry-After honoured
    logged = deliveries.get_delivery(environment, subscription.id, message.delivery_id)
    assert logged is not None and logged.status == "failed"
    assert logged.attempts[0]["next_attempt_at"] is not None
    current = subscriptions.get(environment, subscription.id)
    assert current is not None and current.failing_since is not None and not current.disabled


def test_past_the_window_the_message_is_parked_in_the_dead_letter_queue(
    environment: str, queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = subscribe(environment)
    monkeypatch.setattr(sender, "post", FakeReceiver(DOWN))
    three_days_ago = (datetime.now(UTC) - timedelta(days=3, minutes=1)).timestamp()
    message = message_for(environment, subscription.id, window_started_at=three_days_ago)

    assert delivery.deliver(message.to_json(), "handle", 18) == "dead"
    parked = boto3.client("sqs", region_name="us-east-1").receive_message(QueueUrl=queues["dead"])[
        "Messages"
    ]
    assert DeliveryMessage.from_json(parked[0]["Body"]) == message
    logged = deliveries.get_delivery(environment, subscription.id, message.delivery_id)
    assert logged is not None and logged.status == "dead"


def test_five_days_of_failures_disable_the_subscription(
    environment: str, queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = subscribe(environment)
    five_days_ago = format_timestamp(datetime.now(UTC) - timedelta(days=5, minutes=1))
    subscriptions.record_failure(environment, subscription.id, five_days_ago)
    monkeypatch.setattr(sender, "post", FakeReceiver(DOWN))
    monkeypatch.setattr(queue, "postpone", lambda handle, delay: None)
    message = message_for(environment, subscription.id)

    with pytest.raises(delivery.RetryLater):
        delivery.deliver(message.to_json(), "handle", 1)
    disabled = subscriptions.get(environment, subscription.id)
    assert disabled is not None and disabled.disabled
    assert disabled.disabled_reason and disabled.disabled_at

    receiver = FakeReceiver(OK)
    monkeypatch.setattr(sender, "post", receiver)
    assert delivery.deliver(message.to_json(), "handle", 2) == "skipped"
    assert receiver.sent == []  # a disabled subscription gets nothing


def test_a_success_ends_the_failing_streak(
    environment: str, queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = subscribe(environment)
    subscriptions.record_failure(environment, subscription.id, "2026-11-25T00:00:00.000+00:00")
    monkeypatch.setattr(sender, "post", FakeReceiver(OK))
    message = message_for(environment, subscription.id)
    delivery.deliver(message.to_json(), receipt(queues["queue"], message), 1)
    current = subscriptions.get(environment, subscription.id)
    assert current is not None and current.failing_since is None


def test_deleted_subscriptions_are_skipped_and_garbage_is_parked(
    environment: str, queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = FakeReceiver()
    monkeypatch.setattr(sender, "post", receiver)
    gone = message_for(environment, "no-such-subscription")
    assert delivery.deliver(gone.to_json(), "handle", 1) == "skipped"
    assert delivery.deliver("{not json", "handle", 1) == "dead"
    parked = boto3.client("sqs", region_name="us-east-1").receive_message(QueueUrl=queues["dead"])[
        "Messages"
    ]
    assert [m["Body"] for m in parked] == ["{not json"]
    assert receiver.sent == []


def test_a_batch_that_fails_entirely_reports_its_failures_instead_of_raising(
    environment: str, queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.webhook_delivery.handler import lambda_handler

    subscription = subscribe(environment)
    monkeypatch.setattr(sender, "post", FakeReceiver(DOWN, DOWN))
    monkeypatch.setattr(queue, "postpone", lambda handle, delay: None)
    records = [
        {
            "messageId": notification_id,
            "receiptHandle": "handle",
            "body": message_for(
                environment,
                subscription.id,
                notification_id=notification_id,
                delivery_id=delivery_id_for(notification_id, subscription.id),
            ).to_json(),
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs",
        }
        for notification_id in ("n1", "n2")
    ]
    result = lambda_handler({"Records": records}, NO_CONTEXT)  # a receiver outage is no crash
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["n1", "n2"]


def test_a_log_write_that_fails_after_a_2xx_causes_no_redelivery(
    environment: str, queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    subscription = subscribe(environment)
    receiver = FakeReceiver(OK)
    monkeypatch.setattr(sender, "post", receiver)

    def refuse(*args: Any, **kwargs: Any) -> None:
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}
        raise ClientError(error, "UpdateItem")

    monkeypatch.setattr(deliveries, "record_attempt", refuse)
    message = message_for(environment, subscription.id)
    # "succeeded" (not an exception): the batch deletes the message, nothing is sent again.
    assert delivery.deliver(message.to_json(), receipt(queues["queue"], message), 1) == "succeeded"
    assert len(receiver.sent) == 1


def test_the_log_keeps_the_response_excerpt_and_a_bounded_number_of_attempts(
    environment: str, queues: dict[str, str]
) -> None:
    subscription = subscribe(environment)
    message = message_for(environment, subscription.id)
    for n in range(deliveries.MAX_LOGGED_ATTEMPTS + 10):
        record = {"attempted_at": f"attempt {n}", "status_code": 500, "response_excerpt": "no"}
        deliveries.record_attempt(message, record, "failed")
    logged = deliveries.get_delivery(environment, subscription.id, message.delivery_id)
    assert logged is not None
    kept = [a["attempted_at"] for a in logged.attempts]
    first = [f"attempt {n}" for n in range(deliveries.MAX_LOGGED_ATTEMPTS - 1)]
    assert kept == [*first, f"attempt {deliveries.MAX_LOGGED_ATTEMPTS + 9}"]
    assert logged.dropped_attempts == 10
    assert logged.attempts[0]["response_excerpt"] == "no"


def test_a_large_body_is_read_from_the_bucket_and_logged_as_its_key(
    environment: str, queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.webhooks import bodies

    subscription = subscribe(environment)
    body = json.dumps({"id": "n1", "data": {"bio": "é" * 400_000}}, ensure_ascii=False)
    key = bodies.key_for(environment, "n1", "2020-01-03")
    bodies.store(key, body)
    receiver = FakeReceiver(OK)
    monkeypatch.setattr(sender, "post", receiver)
    message = message_for(environment, subscription.id, body=None, body_key=key)

    assert delivery.deliver(message.to_json(), receipt(queues["queue"], message), 1) == "succeeded"
    [(_, sent, headers)] = receiver.sent
    assert sent == body.encode()
    timestamp = headers["Userflow-Signature"].split(",")[0].split("=")[1]
    expected = hmac.new(
        subscription.secret.encode(), f"{timestamp}.".encode() + sent, hashlib.sha256
    )
    assert f"v1={expected.hexdigest()}" in headers["Userflow-Signature"]
    logged = deliveries.get_delivery(environment, subscription.id, message.delivery_id)
    assert logged is not None and logged.body is None and logged.body_key == key
