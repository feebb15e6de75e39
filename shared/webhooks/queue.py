"""The delivery queue (SQS): one message per (notification, subscription)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from shared import aws
from shared.settings import get_settings
from shared.webhooks.messages import DeliveryMessage

BATCH_LIMIT = 10  # SendMessageBatch takes at most 10 entries
# SendMessageBatch takes at most 1 MiB in all (256 KiB on queues older than SQS's 2025 raise):
# batches stay under the smaller figure. Messages are at most about 50 KiB (larger bodies
# wait in the bodies bucket), so a batch still holds several.
BATCH_BYTES = 256 * 1024
MAX_SEND_ATTEMPTS = 5


class EnqueueFailed(RuntimeError):
    """SQS kept refusing some messages; the caller's invocation should fail and be retried."""


@lru_cache(maxsize=1)
def client() -> Any:
    """One SQS client per container, like `shared.store.dynamo.client`."""
    return aws.client("sqs", get_settings().sqs_endpoint_url)


def reset() -> None:
    """Forget the cached client and settings (tests change the environment between cases)."""
    client.cache_clear()
    get_settings.cache_clear()


def queue_url() -> str:
    return get_settings().require("webhook_queue_url")


def batches(messages: Sequence[DeliveryMessage]) -> list[list[DeliveryMessage]]:
    """Messages in send order, cut into batches of at most 10 entries and `BATCH_BYTES`."""
    found: list[list[DeliveryMessage]] = []
    size = 0
    for message in messages:
        length = message.size()
        if not found or len(found[-1]) == BATCH_LIMIT or size + length > BATCH_BYTES:
            found.append([])
            size = 0
        found[-1].append(message)
        size += length
    return found


def enqueue(
    messages: Sequence[DeliveryMessage],
    on_sent: Callable[[list[DeliveryMessage]], None] | None = None,
) -> None:
    """SendMessageBatch, sized by count and bytes, one batch after another; `on_sent` hears of
    each batch once SQS holds all of it, so a caller that fails part way knows exactly which
    messages went."""
    for batch in batches(messages):
        send_batch(batch)
        if on_sent is not None:
            on_sent(batch)


def send_batch(batch: Sequence[DeliveryMessage]) -> None:
    """One SendMessageBatch (at most 10 messages, `BATCH_BYTES`), resending the entries SQS
    reports as failed; raises EnqueueFailed when it keeps refusing.

    Each message names its environment as `MessageGroupId`: on a standard queue that makes it
    an SQS fair queue, which serves environments with little in flight before one with a
    backlog, so one tenant's burst (or failing receivers) does not hold up another's.
    """
    pending = {str(index): message for index, message in enumerate(batch)}
    attempt = 0
    while pending:
        if attempt >= MAX_SEND_ATTEMPTS:
            raise EnqueueFailed(
                f"SQS refused {len(pending)} webhook message(s) {MAX_SEND_ATTEMPTS} times."
            )
        if attempt:
            time.sleep(min(2.0, 0.05 * 2**attempt))
        result = client().send_message_batch(
            QueueUrl=queue_url(),
            Entries=[
                {
                    "Id": key,
                    "MessageBody": message.to_json(),
                    "MessageGroupId": message.environment_id,
                }
                for key, message in pending.items()
            ],
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
    url = get_settings().require("webhook_dead_letter_queue_url")
    client().send_message(QueueUrl=url, MessageBody=body)
