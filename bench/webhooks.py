"""Webhook figures on the local stack (DynamoDB Local, moto SQS, a loopback receiver).

1. End-to-end latency: from sending an API write to the receiver holding the notification,
   p50 and p99 over sequential writes. Locally this includes the stream and queue pollers'
   intervals (0.1 s and 0.05 s), which Lambda's event source mappings replace in AWS.
2. Delivery throughput: the delivery function fed batches of 10 messages directly (no
   queue), for one subscription and for many, in deliveries per second.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from typing import Any

WRITES = int(os.environ.get("BENCH_WEBHOOK_WRITES", "100"))
DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "400"))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_webhooks() -> None:
    from infra.local.dev import LocalStack
    from shared.store import tenancy
    from tests.integration.conftest import ApiClient
    from tests.integration.receivers import Received, Receiver

    receiver = Receiver().start()
    with LocalStack(port=0, table_name="waymark-bench-webhooks") as stack:
        environment = tenancy.create_environment("Bench")
        _, key = tenancy.create_api_key(environment.id)
        api = ApiClient(stack.url, key, environment.id)
        api.request(
            "POST", "/webhook_subscriptions", json={"url": receiver.url, "topics": ["user"]}
        )

        def arrival_of(user_id: str) -> float:
            def is_it(request: Received) -> bool:
                return bool(request.json()["data"]["object"]["id"] == user_id)

            got = receiver.wait_for(lambda received: any(is_it(r) for r in received))
            return next(r.at for r in got if is_it(r))

        latencies = []
        for i in range(WRITES):
            sent = time.monotonic()
            api.request("POST", "/users", json={"id": f"latency-{i}"})
            latencies.append(arrival_of(f"latency-{i}") - sent)
        print(f"webhooks, API write -> receiver (local stack, {WRITES} sequential writes):")
        print(f"  p50 {statistics.median(latencies) * 1000:7.1f} ms")
        print(f"  p99 {_percentile(latencies, 0.99) * 1000:7.1f} ms")

        for subscriptions in (1, 20):
            rate = _delivery_rate(environment.id, receiver.url, subscriptions)
            print(
                f"  delivery function, {subscriptions:2d} subscription(s): "
                f"{rate:7.1f} deliveries/s ({DELIVERIES} messages, batches of 10)"
            )
    receiver.stop()


def _delivery_rate(environment_id: str, url: str, subscription_count: int) -> float:
    from functions.webhook_delivery.handler import lambda_handler
    from shared.store import webhooks
    from shared.webhooks.messages import DeliveryMessage, delivery_id_for

    subscription_ids = [
        webhooks.create(environment_id, api_version="2020-01-03", topics=["user"], url=url).id
        for _ in range(subscription_count)
    ]

    def record(i: int) -> dict[str, Any]:
        subscription_id = subscription_ids[i % subscription_count]
        notification_id = f"bench-{subscription_count}-{i}"
        body = json.dumps({"id": notification_id, "object": "webhook_notification"})
        message = DeliveryMessage(
            environment_id=environment_id,
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
            "receiptHandle": notification_id,
            "body": message.to_json(),
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs",
        }

    records = [record(i) for i in range(DELIVERIES)]
    started = time.perf_counter()
    for start in range(0, len(records), 10):
        result = lambda_handler({"Records": records[start : start + 10]}, None)
        assert result == {"batchItemFailures": []}, result
    return len(records) / (time.perf_counter() - started)
