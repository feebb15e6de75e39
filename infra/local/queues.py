"""The local stand-in for Lambda's SQS event source mapping (the webhook delivery queue and
the jobs queue each get one).

`QueuePoller` runs up to `concurrency` pollers at once, as the mapping runs concurrent
invocations (threads here, as separate execution environments there, so one slow batch does
not stop the others). Each receives a batch, hands it to the delivery function as Lambda's SQS
event, and deletes what the function did not report as failed, exactly as the mapping does
with `ReportBatchItemFailures`. A failed message stays in the queue and comes back when its
visibility timeout (set by the function's backoff) ends. Which messages a batch holds is the
queue's choice: the local SQS serves message groups fairly, as SQS fair queues do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from infra.local.aws_services import DELIVERY_QUEUE, client

log = logging.getLogger("waymark.local.queues")

QueueHandler = Callable[[dict[str, Any], Any], Any]
# Idle pollers wait in the queue for a message, as the mapping's long polls do (shorter, so
# stopping the stack is quick).
LONG_POLL_SECONDS = 1


class QueuePoller:
    """Feeds one queue to one handler, a batch per invocation, on background threads."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        queue_url: str,
        handler: QueueHandler,
        batch_size: int = 10,
        concurrency: int = 32,
        visibility_timeout: int = 120,
        queue_name: str = DELIVERY_QUEUE,
    ) -> None:
        self.sqs = client("sqs", endpoint_url)
        self.queue_url = queue_url
        self.handler = handler
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.visibility_timeout = visibility_timeout
        self.queue_name = queue_name
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(self.concurrency):
            name = f"{self.queue_name}-poller-{number}"
            thread = threading.Thread(target=self._run, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # keep polling, like the managed event source mapping
                log.exception("Queue poll failed")
                self._stop.wait(1.0)

    def poll_once(self) -> int:
        """One invocation's worth: receive a batch, run the handler, delete what succeeded."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            VisibilityTimeout=self.visibility_timeout,
            WaitTimeSeconds=LONG_POLL_SECONDS,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._lambda_record(m) for m in messages]}
        try:
            result = self.handler(event, None) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            # A crashed invocation deletes nothing: every message comes back after its timeout.
            log.exception("%s consumer failed; the batch stays in the queue", self.queue_name)
            return len(messages)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages)

    def _lambda_record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        now_ms = str(int(time.time() * 1000))
        record_attributes = {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", now_ms),
            "SenderId": attributes.get("SenderId", "local"),
            "ApproximateFirstReceiveTimestamp": attributes.get(
                "ApproximateFirstReceiveTimestamp", now_ms
            ),
        }
        if "MessageGroupId" in attributes:
            record_attributes["MessageGroupId"] = attributes["MessageGroupId"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": record_attributes,
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{self.queue_name}",
            "awsRegion": "us-east-1",
        }
