"""Runtime settings, read from the environment once per container."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_SUBSCRIPTION_LIMIT = 100


@dataclass(frozen=True)
class Settings:
    table_name: str
    # Set only off AWS (local stack, tests): DynamoDB Local's URL.
    dynamodb_endpoint_url: str | None
    region: str
    # Webhooks: the delivery queue and its dead-letter queue (SQS URLs).
    webhook_queue_url: str | None
    webhook_dead_letter_queue_url: str | None
    # Set only off AWS: the SQS endpoint of the local stack (moto server).
    sqs_endpoint_url: str | None
    # Local development only: lets webhooks go to http:// loopback receivers.
    webhooks_allow_loopback: bool
    # Tests only: multiplies the retry schedule and the 3-day window (never set in AWS).
    webhook_backoff_scale: float
    # The S3 bucket holding notification bodies too large to travel in a queue message.
    webhook_bodies_bucket: str | None
    # Set only off AWS: the S3 endpoint of the local stack (moto server).
    s3_endpoint_url: str | None
    # How many webhook subscriptions one environment may have.
    webhook_subscription_limit: int
    # Import and export jobs: the bucket of their files, and the queue of their steps.
    transfers_bucket: str | None
    jobs_queue_url: str | None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        table_name=os.environ.get("TABLE_NAME", "waymark"),
        dynamodb_endpoint_url=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        webhook_queue_url=os.environ.get("WEBHOOK_QUEUE_URL") or None,
        webhook_dead_letter_queue_url=os.environ.get("WEBHOOK_DEAD_LETTER_QUEUE_URL") or None,
        sqs_endpoint_url=os.environ.get("SQS_ENDPOINT_URL") or None,
        webhooks_allow_loopback=os.environ.get("WAYMARK_WEBHOOKS_ALLOW_LOOPBACK") == "1",
        webhook_backoff_scale=float(os.environ.get("WEBHOOK_BACKOFF_SCALE") or 1.0),
        webhook_bodies_bucket=os.environ.get("WEBHOOK_BODIES_BUCKET") or None,
        s3_endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,
        webhook_subscription_limit=int(
            os.environ.get("WEBHOOK_SUBSCRIPTION_LIMIT") or DEFAULT_SUBSCRIPTION_LIMIT
        ),
        transfers_bucket=os.environ.get("TRANSFERS_BUCKET") or None,
        jobs_queue_url=os.environ.get("JOBS_QUEUE_URL") or None,
    )
