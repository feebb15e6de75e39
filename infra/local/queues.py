"""The local stand-in for Lambda's SQS event source mapping, on an SQS fair queue.

`QueuePoller` receives messages, hands them to the delivery function in batches shaped as
Lambda's SQS event, and deletes what the function did not report as failed, exactly as the
event source mapping does with `ReportBatchItemFailures`. A failed message stays in the queue
and comes back when its visibility timeout (set by the function's backoff) ends.

Two things the managed mapping and queue do that moto does not, done here so that tests of
noisy neighbours mean something:
- concurrency: up to `concurrency` invocations run at once (threads, as separate Lambda
  execution environments would), so one slow batch does not stop the others;
- fair queues: SQS serves the message groups (here: environments) with the fewest messages in
  flight first. moto returns messages in send order whatever their group, so the poller keeps
  a window of received messages and builds each batch from the least busy groups first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from infra.local.aws_services import DELIVERY_QUEUE, client

log = logging.getLogger("waymark.local.queues")

QueueHandler = Callable[[dict[str, Any], Any], Any]
NO_GROUP = ""


class QueuePoller:
    """Feeds one queue to one handler, a batch at a time per invocation, on background threads."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        queue_url: str,
        handler: QueueHandler,
        batch_size: int = 10,
        concurrency: int = 32,
        window: int = 200,
        visibility_timeout: int = 120,
    ) -> None:
        self.sqs = client("sqs", endpoint_url)
        self.queue_url = queue_url
        self.handler = handler
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.window = window
        self.visibility_timeout = visibility_timeout
        self._waiting: dict[str, deque[tuple[float, dict[str, Any]]]] = {}
        self._in_flight: Counter[str] = Counter()
        self._running = 0
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="queue-invoke")
        self._thread = threading.Thread(target=self._run, name="queue-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                received = self._receive()
                dispatched = self._dispatch()
            except Exception:  # keep polling, like the managed event source mapping
                log.exception("Queue poll failed")
                self._stop.wait(1.0)
                continue
            if not received and not dispatched:
                with self._changed:  # until an invocation ends, or a short poll interval
                    self._changed.wait(0.05)

    def _receive(self) -> int:
        """Tops up the window of received messages; returns how many arrived."""
        if self._window_size() >= self.window:
            return 0
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=self.visibility_timeout,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        now = time.monotonic()
        with self._changed:
            for message in messages:
                group = message.get("Attributes", {}).get("MessageGroupId", NO_GROUP)
                self._waiting.setdefault(group, deque()).append((now, message))
        return len(messages)

    def _window_size(self) -> int:
        with self._changed:
            return sum(len(waiting) for waiting in self._waiting.values())

    def _dispatch(self) -> int:
        """Starts invocations while there are free ones and waiting messages."""
        started = 0
        while True:
            with self._changed:
                if self._running >= self.concurrency:
                    return started
                batch = self._fair_batch()
                if not batch:
                    return started
                self._running += 1
                for group, _ in batch:
                    self._in_flight[group] += 1
            assert self._pool is not None
            self._pool.submit(self._invoke, batch)
            started += 1

    def _fair_batch(self) -> list[tuple[str, dict[str, Any]]]:
        """Up to `batch_size` waiting messages, each taken from the group with the fewest in
        flight (counting those already taken). Messages held past half their visibility
        timeout are let go: SQS hands them out again later. Call with the lock held."""
        stale = time.monotonic() - self.visibility_timeout / 2
        taken: list[tuple[str, dict[str, Any]]] = []
        load = Counter(self._in_flight)
        while len(taken) < self.batch_size:
            for waiting in self._waiting.values():
                while waiting and waiting[0][0] < stale:
                    waiting.popleft()
            candidates = [group for group, waiting in self._waiting.items() if waiting]
            if not candidates:
                break
            group = min(candidates, key=lambda g: load[g])
            taken.append((group, self._waiting[group].popleft()[1]))
            load[group] += 1
        self._waiting = {g: w for g, w in self._waiting.items() if w}
        return taken

    def _invoke(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        messages = [message for _, message in batch]
        try:
            self._handle(messages)
        except Exception:
            log.exception("Queue invocation failed")
        finally:
            with self._changed:
                self._running -= 1
                for group, _ in batch:
                    self._in_flight[group] -= 1
                self._changed.notify_all()

    def _handle(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._lambda_record(m) for m in messages]}
        try:
            result = self.handler(event, None) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            # A crashed invocation deletes nothing: every message comes back after its timeout.
            log.exception("Delivery function failed; the batch stays in the queue")
            return
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )

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
            "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{DELIVERY_QUEUE}",
            "awsRegion": "us-east-1",
        }
