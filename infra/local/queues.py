"""The local stand-in for SQS and Lambda's SQS event source mapping.

`LocalQueues` runs moto's server (in this process) holding the delivery queue and its
dead-letter queue. `QueuePoller` receives batches, hands them to the delivery function as
Lambda's SQS event, and deletes what the function did not report as failed, exactly as the
event source mapping does with `ReportBatchItemFailures`. A failed message stays in the queue
and comes back when its visibility timeout (set by the function's backoff) ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3

from infra.local.dynamodb_local import free_port

log = logging.getLogger("waymark.local.queues")

QueueHandler = Callable[[dict[str, Any], Any], Any]
DELIVERY_QUEUE = "waymark-webhook-deliveries"
DEAD_LETTER_QUEUE = "waymark-webhook-deliveries-dead"


def sqs_client(endpoint_url: str, region: str = "us-east-1") -> Any:
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=region
    )
    return session.client("sqs", endpoint_url=endpoint_url)


class LocalQueues:
    """moto's SQS on a free loopback port, with the delivery queue and its dead-letter queue."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._server: Any = None
        self.queue_url = ""
        self.dead_letter_queue_url = ""

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalQueues:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per SQS call otherwise
        self.port = free_port(self.host)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        client = sqs_client(self.endpoint_url)
        self.dead_letter_queue_url = client.create_queue(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
        self.queue_url = client.create_queue(QueueName=DELIVERY_QUEUE)["QueueUrl"]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


class QueuePoller:
    """Feeds one queue to one handler, a batch at a time, on a background thread."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        queue_url: str,
        handler: QueueHandler,
        batch_size: int = 10,
        visibility_timeout: int = 60,
    ) -> None:
        self.sqs = sqs_client(endpoint_url)
        self.queue_url = queue_url
        self.handler = handler
        self.batch_size = batch_size
        self.visibility_timeout = visibility_timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="queue-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll_once():
                    self._stop.wait(0.05)
            except Exception:  # keep polling, like the managed event source mapping
                log.exception("Queue poll failed")
                self._stop.wait(1.0)

    def poll_once(self) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            VisibilityTimeout=self.visibility_timeout,
            WaitTimeSeconds=0,
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
            log.exception("Delivery function failed; the batch stays in the queue")
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
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
                "SenderId": attributes.get("SenderId", "local"),
                "ApproximateFirstReceiveTimestamp": attributes.get(
                    "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                ),
            },
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{DELIVERY_QUEUE}",
            "awsRegion": "us-east-1",
        }
