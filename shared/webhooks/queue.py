"""The delivery queue (SQS): one message per (notification, subscription)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from shared.settings import get_settings
from shared.webhooks.messages import DeliveryMessage

BATCH_LIMIT = 10  # SendMessageBatch takes at most 10 entries
MAX_SEND_ATTEMPTS = 5


class EnqueueFailed(RuntimeError):
    """SQS kept refusing some messages; the caller's invocation should fail and be retried."""


@lru_cache(maxsize=1)
def client() -> Any:
    """One SQS client per container, like `shared.store.dynamo.client`."""
    import boto3
    from botocore.config import Config

    settings = get_settings()
    return boto3.client(
        "sqs",
        region_name=settings.region,
        endpoint_url=settings.sqs_endpoint_url,
        config=Config(
            retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2, read_timeout=5
        ),
    )


def reset() -> None:
    """Forget the cached client and settings (tests change the environment between cases)."""
    client.cache_clear()
    get_settings.cache_clear()


def queue_url() -> str:
    url = get_settings().webhook_queue_url
    if not url:
        raise RuntimeError("WEBHOOK_QUEUE_URL is not set: webhooks cannot be enqueued.")
    return url


def enqueue(messages: Sequence[DeliveryMessage]) -> None:
    """SendMessageBatch, 10 a call, resending the entries SQS reports as failed."""
    url = queue_url()
    for start in range(0, len(messages), BATCH_LIMIT):
        pending = {
            str(index): message.to_json()
            for index, message in enumerate(messages[start : start + BATCH_LIMIT])
        }
        attempt = 0
        while pending:
            if attempt >= MAX_SEND_ATTEMPTS:
                raise EnqueueFailed(
                    f"SQS refused {len(pending)} webhook message(s) {MAX_SEND_ATTEMPTS} times."
                )
            if attempt:
                time.sleep(min(2.0, 0.05 * 2**attempt))
            result = client().send_message_batch(
                QueueUrl=url,
                Entries=[{"Id": key, "MessageBody": body} for key, body in pending.items()],
            )
            failed = result.get("Failed") or []
            sender_faults = [f for f in failed if f.get("SenderFault")]
            if sender_faults:
                # A malformed entry will fail the same way again: do not spin on it.
                raise EnqueueFailed(f"SQS rejected webhook message(s): {sender_faults}")
            pending = {f["Id"]: pending[f["Id"]] for f in failed}
            attempt += 1


# SQS caps a message's visibility timeout at 12 hours.
MAX_VISIBILITY_SECONDS = 12 * 3600


def postpone(receipt_handle: str, delay_seconds: float) -> None:
    """Keeps a received message hidden for `delay_seconds` (capped at SQS's 12 h): a retry."""
    client().change_message_visibility(
        QueueUrl=queue_url(),
        ReceiptHandle=receipt_handle,
        VisibilityTimeout=max(0, min(MAX_VISIBILITY_SECONDS, int(delay_seconds))),
    )


def park(message: DeliveryMessage) -> None:
    """Moves a message that will not be retried any more to the dead-letter queue."""
    park_raw(message.to_json())


def park_raw(body: str) -> None:
    """Sends any body (even one that does not parse) to the dead-letter queue for a person."""
    url = get_settings().webhook_dead_letter_queue_url
    if not url:
        raise RuntimeError("WEBHOOK_DEAD_LETTER_QUEUE_URL is not set: cannot park a message.")
    client().send_message(QueueUrl=url, MessageBody=body)
