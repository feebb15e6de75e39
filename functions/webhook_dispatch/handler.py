"""Webhook dispatch: table stream -> notifications -> one queue message per subscription.

A record's notifications are derived from its old and new images only, and their ids from
the stream record, so a replayed batch enqueues the same notifications again (receivers
de-duplicate by id). A record that fails is reported alone and retried by the event source
mapping; the rest of the batch moves on. Subscriptions are read afresh for every batch
(shared/services/dispatch.py says why). The batch's messages are sent together at its end:
SQS batches of ten, and one backlog write per receiver whose circuit is open.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.clock import format_timestamp
from shared.observability import logger, new_metrics, observed, publish
from shared.services.dispatch import DispatchBatch, messages_for
from shared.webhooks.from_stream import notifications_from_change

metrics = new_metrics()

# Only users, groups and events make notifications; the CDK event source mapping applies the
# same filter so the function never runs for memberships, definitions or its own log items.
DISPATCH_FILTER = {"dynamodb": {"Keys": {"SK": {"S": ["U", "G", {"prefix": "EV#"}]}}}}


def handle_record(record: DynamoDBRecord, batch: DispatchBatch) -> None:
    """Turns one record into its queue messages, kept for the batch to send at its end."""
    stream = record.dynamodb
    if stream is None or record.event_id is None:
        return
    raw_time = stream.get("ApproximateCreationDateTime")
    changed_at = (
        datetime.fromtimestamp(float(raw_time), UTC) if raw_time is not None else datetime.now(UTC)
    )
    notifications = notifications_from_change(
        record.event_id,
        stream.old_image or None,
        stream.new_image or None,
        format_timestamp(changed_at),
    )
    for notification in notifications:
        batch.add(messages_for(notification, batch.subscriptions.of(notification.environment_id)))


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = DispatchBatch()
    try:
        response = dict(
            process_partial_response(
                event=event,
                record_handler=partial(handle_record, batch=batch),
                processor=BatchProcessor(event_type=EventType.DynamoDBStreams),
                context=context,
            )
        )
        try:
            sent = batch.send()
        except Exception:
            # Some messages may have gone: a retry sends them again with the same ids, which
            # receivers de-duplicate. Nothing is lost.
            logger.exception("Sending the batch's notifications failed; the batch is retried")
            return {
                "batchItemFailures": [{"itemIdentifier": _sequence(r)} for r in event["Records"]]
            }
        if sent:
            metrics.add_metric(name="NotificationsEnqueued", unit=MetricUnit.Count, value=sent)
    finally:
        publish(metrics)
    return response


def _sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])
