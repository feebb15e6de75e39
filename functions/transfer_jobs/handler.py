"""Import and export jobs: each message of the jobs queue is one step of one job (a bounded
chunk of its work; shared/services/job_steps.py). A step that fails is retried by the queue; on
its last receive the job is marked failed instead, so no job waits forever."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.clock import time_left
from shared.observability import observed
from shared.services import job_steps
from shared.transfers.steps import StepMessage

processor = BatchProcessor(event_type=EventType.SQS)

# The jobs queue's maxReceiveCount (infra/constructs/transfers.py reads it): a message received
# this often is its step's last try.
MAX_RECEIVES = 5


def handle_record(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    message = StepMessage.parse(record.body)
    receives = int(record.attributes.approximate_receive_count or 1)
    job_steps.run_step(
        message, time_left=time_left(lambda_context), final_attempt=receives >= MAX_RECEIVES
    )


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
    return dict(response)
