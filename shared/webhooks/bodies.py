"""Notification bodies too large for a queue message wait in S3; the message carries a key.

A user with hundreds of kilobytes of attributes makes a `user.updated` three times that size
(the object, `previous_attributes` and `updated_attributes`), past what one SQS message or one
DynamoDB item holds. Bodies above `INLINE_LIMIT` bytes are written once per notification and
API version under a key derived from the notification id, so a replayed stream record
rewrites the same object. The bucket's lifecycle rule removes them after the delivery log's
30 days (resend and recover need them until then).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from shared import aws
from shared.settings import get_settings

# Up to this many bytes a body travels inside its queue message and its delivery log item:
# with the message's other fields it stays within one 64 KiB SQS billing unit, and a log item
# with its attempts stays far below DynamoDB's 400 KB.
INLINE_LIMIT = 48 * 1024


@lru_cache(maxsize=1)
def client() -> Any:
    """One S3 client per container, like `shared.store.dynamo.client`."""
    return aws.client("s3", get_settings().s3_endpoint_url, read_timeout=10)


def reset() -> None:
    """Forget the cached client and settings (tests change the environment between cases)."""
    client.cache_clear()
    get_settings.cache_clear()


def bucket() -> str:
    return get_settings().require("webhook_bodies_bucket")


def is_large(body: str) -> bool:
    return len(body.encode()) > INLINE_LIMIT


def key_for(environment_id: str, notification_id: str, api_version: str) -> str:
    return f"notifications/{environment_id}/{notification_id}/{api_version}.json"


def store(key: str, body: str) -> None:
    client().put_object(
        Bucket=bucket(), Key=key, Body=body.encode(), ContentType="application/json"
    )


def load(key: str) -> str:
    found = client().get_object(Bucket=bucket(), Key=key)
    text: str = found["Body"].read().decode()
    return text
