"""Cascading deletes: the table stream's purge-job inserts -> remove what was left behind.

Each record is processed on its own; a failure is reported for that record only and
retried by the event source mapping (partial batch response), the rest move on.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.clock import time_left
from shared.observability import logger, observed
from shared.services.deletion import continue_purge, purge_job_from_image, run_purge

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

# The CDK event source mapping applies the same filter; the local stack feeds every record.
PURGE_FILTER = {
    "eventName": ["INSERT"],
    "dynamodb": {"Keys": {"SK": {"S": [{"prefix": "PURGE#"}]}}},
}


def handle_record(record: DynamoDBRecord, lambda_context: LambdaContext | None = None) -> None:
    if record.event_name is not DynamoDBRecordEventName.INSERT:
        return
    image = record.dynamodb.new_image if record.dynamodb else None
    job = purge_job_from_image(image or {})
    if job is None:
        return
    progress = run_purge(job, time_left=time_left(lambda_context))
    if not progress.finished:
        continue_purge(job)
    logger.info(
        "Purged",
        extra={
            "kind": job.kind,
            "object_id": job.object_id,
            "removed": progress.removed,
            "finished": progress.finished,
        },
    )


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
    return dict(response)
