"""Webhook delivery: queue message -> signed POST -> recorded attempt -> done or retried later.

Messages of a batch are delivered concurrently, so one receiver that hangs for 15 s does not
hold the others. A failed attempt makes its message invisible for the backoff delay and is
reported as a batch item failure, so SQS keeps it; past the 3-day window it is parked in the
dead-letter queue instead. A receiver that keeps failing has its notifications moved to its
own backlog (shared/services/delivery.py), off this queue. Nothing is removed from the queue
before its outcome is recorded.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger, new_metrics, observed, publish
from shared.services.delivery import RetryLater, deliver

metrics = new_metrics()
# Lambda runs one invocation per container at a time; the local stack runs several on threads
# of one process, like several containers, and Powertools' metric set is one per process.
_metrics_lock = threading.Lock()


async def handle_record(
    record: SQSRecord, outcomes: Counter[str], threads: ThreadPoolExecutor
) -> None:
    attempt = int(record.attributes.approximate_receive_count or "1")
    loop = asyncio.get_running_loop()
    try:
        result = await loop.run_in_executor(
            threads, deliver, record.body, record.receipt_handle, attempt
        )
    except RetryLater as retry:
        outcomes["DeliveryFailed"] += 1
        logger.info("Delivery failed; retrying later", extra=retry.details)
        raise
    outcomes[f"Delivery{result.title()}"] += 1


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()
    # A thread per message: asyncio's default executor has cpu_count + 4 threads (6 on
    # Lambda), so a batch with six hanging receivers would hold the rest of it for 15 s.
    threads = ThreadPoolExecutor(max_workers=max(1, len(event.get("Records") or [])))

    async def handle(record: SQSRecord) -> None:
        await handle_record(record, outcomes, threads)

    # A receiver that is down fails every message of a batch: that is routine, not an error
    # of this function, so the batch reports its failures instead of raising.
    processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    try:
        response = async_process_partial_response(
            event=event, record_handler=handle, processor=processor, context=context
        )
    finally:
        threads.shutdown(wait=False)
        with _metrics_lock:
            for name, count in outcomes.items():
                metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
            publish(metrics)
    return dict(response)
