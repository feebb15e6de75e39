"""Building blocks shared by the stream and queue consumers (cascade, webhooks, jobs): how a
queue and a bucket are secured, and how a function reads the table's stream. Decided once, so
every consumer gets the same guarantees."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def encrypted_queue(
    scope: Construct,
    construct_id: str,
    *,
    retention: Duration,
    removal_policy: RemovalPolicy,
    **options: Any,
) -> sqs.Queue:
    """An SQS queue encrypted at rest (SQS-managed keys) that refuses plain-HTTP access."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=retention,
        removal_policy=removal_policy,
        **options,
    )


def visibility_timeout(consumer_timeout: Duration) -> Duration:
    """AWS's advice for a Lambda-consumed queue: at least 6 x its consumer's timeout."""
    return Duration.seconds(6 * int(consumer_timeout.to_seconds()))


def expiring_bucket(scope: Construct, construct_id: str, *, rule: s3.LifecycleRule) -> s3.Bucket:
    """A private bucket (S3-managed encryption, SSL only, no ACLs) whose objects expire by
    `rule`. Kept when the stack goes: it holds only files that expire on their own, and a
    non-empty bucket would otherwise fail the deletion of a stack."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[rule],
        removal_policy=RemovalPolicy.RETAIN,
    )


def stream_source(
    table: dynamodb.ITable,
    *,
    record_filter: dict[str, Any],
    failures: sqs.IQueue,
    batch_size: int,
    max_batching_window: Duration,
    retry_attempts: int,
    max_record_age: Duration,
) -> sources.DynamoEventSource:
    """The table stream as a consumer reads it: only records matching the handler's filter,
    from TRIM_HORIZON (a mapping created or recreated skips no change), per-record failures
    reported, a failing batch split to isolate the bad record, bounded retries, and what still
    fails parked on `failures`."""
    return sources.DynamoEventSource(
        table,
        starting_position=lambda_.StartingPosition.TRIM_HORIZON,
        batch_size=batch_size,
        max_batching_window=max_batching_window,
        bisect_batch_on_error=True,
        retry_attempts=retry_attempts,
        max_record_age=max_record_age,
        report_batch_item_failures=True,
        on_failure=sources.SqsDlq(failures),
        filters=[{"pattern": json.dumps(record_filter)}],
    )


def consume_stream(function: lambda_.Function, source: sources.DynamoEventSource) -> None:
    """Attach a stream source; its mapping's role statement needs dynamodb:ListStreams on '*'."""
    function.add_event_source(source)
    assert function.role is not None
    Validations.of(function.role).acknowledge(
        Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason=(
                "Only an action without resource-level permissions, where '*' is the only "
                "possible resource: the dynamodb:ListStreams of this function's stream event "
                "source mapping. Table, index, stream, queue, key and log grants name their "
                "ARNs (indexes one by one)."
            ),
        )
    )
