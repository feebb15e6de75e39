"""A local SQS for the local stack: the calls Waymark makes, over SQS's JSON protocol, in memory.

Why not moto's: moto scans every message of a queue on each call, so a queue holding a few
thousand messages answers in seconds (measured: 1.7 s a ReceiveMessage at 3,000 messages),
and it ignores `MessageGroupId` on standard queues. Here every call costs O(log n), and
ReceiveMessage serves a standard queue as an SQS fair queue does: it picks from the message
groups (Waymark's environments) with the fewest messages in flight first, so one group's
backlog does not delay another's.

What it does: CreateQueue, GetQueueUrl, GetQueueAttributes (counts), SendMessage(Batch) with
DelaySeconds and MessageGroupId, ReceiveMessage with VisibilityTimeout and WaitTimeSeconds,
DeleteMessage(Batch), ChangeMessageVisibility, PurgeQueue, and a queue's RedrivePolicy. The
limits Waymark must respect are enforced as SQS enforces them: 10 entries and 1 MiB a batch,
the queue's MaximumMessageSize a message, 12 hours of visibility, 15 minutes of delay.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from infra.local.json_protocol import LocalService, Protocol, ServiceError

ACCOUNT = "000000000000"
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 1024 * 1024
MAX_VISIBILITY = 12 * 3600
MAX_DELAY = 15 * 60
MAX_WAIT = 20


class SqsError(ServiceError):
    pass


SQS_PROTOCOL = Protocol(
    name="SQS",
    content_type="application/x-amz-json-1.0",
    internal_error="InternalError",
    error_type=lambda code: f"com.amazonaws.sqs#{code}",
    error_headers=lambda code: {"x-amzn-query-error": f"{code};Sender"},
    unknown_action="InvalidAction",
)


@dataclass
class _Message:
    id: str
    body: str
    group: str
    sent_ms: int
    seq: int
    visible_at: float
    receive_count: int = 0
    first_receive_ms: int | None = None
    version: int = 0  # bumped whenever visible_at changes: older heap entries are stale


@dataclass
class _Queue:
    name: str
    url: str
    visibility_timeout: int = 30
    max_message_size: int = 1024 * 1024
    dead_letter_url: str | None = None
    max_receive_count: int | None = None
    messages: dict[str, _Message] = field(default_factory=dict)
    # Per message group: a heap of (visible_at, seq, version, message id).
    waiting: dict[str, list[tuple[float, int, int, str]]] = field(default_factory=dict)
    in_flight: dict[str, set[str]] = field(default_factory=dict)
    receipts: dict[str, str] = field(default_factory=dict)  # receipt handle -> message id

    def schedule(self, message: _Message, visible_at: float) -> None:
        message.visible_at = visible_at
        message.version += 1
        heapq.heappush(
            self.waiting.setdefault(message.group, []),
            (visible_at, message.seq, message.version, message.id),
        )

    def next_visible(self, group: str, now: float) -> _Message | None:
        """The group's oldest message visible at `now` (stale heap entries dropped)."""
        heap = self.waiting.get(group, [])
        while heap:
            visible_at, _, version, message_id = heap[0]
            message = self.messages.get(message_id)
            if message is None or message.version != version:
                heapq.heappop(heap)
                continue
            return message if visible_at <= now else None
        return None

    def soonest_visible(self) -> float | None:
        """When the earliest hidden message becomes visible (stale entries may make it early:
        a waiter then just looks again)."""
        tops = [heap[0][0] for heap in self.waiting.values() if heap]
        return min(tops) if tops else None

    def load(self, group: str, now: float) -> int:
        """Messages of the group received and still invisible (in flight)."""
        flying = self.in_flight.get(group, set())
        for message_id in [m for m in flying if self._landed(m, now)]:
            flying.discard(message_id)
        return len(flying)

    def _landed(self, message_id: str, now: float) -> bool:
        message = self.messages.get(message_id)
        return message is None or message.visible_at <= now


class LocalSqs(LocalService):
    """The queues and their HTTP front door on a loopback port."""

    protocol = SQS_PROTOCOL

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._queues: dict[str, _Queue] = {}
        self._lock = threading.Condition()
        self._sequence = itertools.count()

    def stop(self) -> None:
        super().stop()
        with self._lock:
            self._lock.notify_all()

    # --- the API --------------------------------------------------------------------------

    def _CreateQueue(self, arguments: dict[str, Any]) -> dict[str, Any]:
        name = arguments["QueueName"]
        attributes = arguments.get("Attributes") or {}
        with self._lock:
            queue = self._queues.get(name)
            if queue is None:
                queue = _Queue(name=name, url=f"{self.endpoint_url}/{ACCOUNT}/{name}")
                self._queues[name] = queue
            if "VisibilityTimeout" in attributes:
                queue.visibility_timeout = int(attributes["VisibilityTimeout"])
            if "MaximumMessageSize" in attributes:
                queue.max_message_size = int(attributes["MaximumMessageSize"])
            if "RedrivePolicy" in attributes:
                policy = json.loads(attributes["RedrivePolicy"])
                target = policy["deadLetterTargetArn"].rsplit(":", 1)[-1]
                queue.dead_letter_url = self._queue_named(target).url
                queue.max_receive_count = int(policy["maxReceiveCount"])
        return {"QueueUrl": queue.url}

    def _GetQueueUrl(self, arguments: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return {"QueueUrl": self._queue_named(arguments["QueueName"]).url}

    def _GetQueueAttributes(self, arguments: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            queue = self._queue_at(arguments["QueueUrl"])
            visible = sum(1 for m in queue.messages.values() if m.visible_at <= now)
            return {
                "Attributes": {
                    "ApproximateNumberOfMessages": str(visible),
                    "ApproximateNumberOfMessagesNotVisible": str(len(queue.messages) - visible),
                    "VisibilityTimeout": str(queue.visibility_timeout),
                    "MaximumMessageSize": str(queue.max_message_size),
                }
            }

    def _PurgeQueue(self, arguments: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            queue = self._queue_at(arguments["QueueUrl"])
            queue.messages.clear()
            queue.waiting.clear()
            queue.in_flight.clear()
            queue.receipts.clear()
        return {}

    def _SendMessage(self, arguments: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            queue = self._queue_at(arguments["QueueUrl"])
            message = self._send(queue, arguments)
        return {"MessageId": message.id, "MD5OfMessageBody": _md5(message.body)}

    def _SendMessageBatch(self, arguments: dict[str, Any]) -> dict[str, Any]:
        entries = arguments.get("Entries") or []
        if not entries:
            raise SqsError("EmptyBatchRequest", "There should be at least one entry.")
        if len(entries) > MAX_BATCH_ENTRIES:
            raise SqsError("TooManyEntriesInBatchRequest", f"At most {MAX_BATCH_ENTRIES}.")
        if len({entry["Id"] for entry in entries}) != len(entries):
            raise SqsError("BatchEntryIdsNotDistinct", "Two entries share an Id.")
        total = sum(len(entry["MessageBody"].encode()) for entry in entries)
        if total > MAX_BATCH_BYTES:
            raise SqsError("BatchRequestTooLong", f"The batch is {total} bytes, over 1 MiB.")
        successful = []
        with self._lock:
            queue = self._queue_at(arguments["QueueUrl"])
            for entry in entries:
                message = self._send(queue, entry)
                successful.append(
                    {
                        "Id": entry["Id"],
                        "MessageId": message.id,
                        "MD5OfMessageBody": _md5(message.body),
                    }
                )
        return {"Successful": successful, "Failed": []}

    def _send(self, queue: _Queue, arguments: dict[str, Any]) -> _Message:
        body = arguments["MessageBody"]
        if len(body.encode()) > queue.max_message_size:
            raise SqsError(
                "InvalidParameterValue",
                f"Message must be shorter than {queue.max_message_size} bytes.",
            )
        delay = int(arguments.get("DelaySeconds") or 0)
        if not 0 <= delay <= MAX_DELAY:
            raise SqsError("InvalidParameterValue", "DelaySeconds must be >= 0 and <= 900.")
        now = time.time()
        message = _Message(
            id=str(uuid.uuid4()),
            body=body,
            group=str(arguments.get("MessageGroupId") or ""),
            sent_ms=int(now * 1000),
            seq=next(self._sequence),
            visible_at=now + delay,
        )
        queue.messages[message.id] = message
        queue.schedule(message, now + delay)
        self._lock.notify_all()
        return message

    def _ReceiveMessage(self, arguments: dict[str, Any]) -> dict[str, Any]:
        wanted = int(arguments.get("MaxNumberOfMessages") or 1)
        if not 1 <= wanted <= 10:
            raise SqsError("InvalidParameterValue", "MaxNumberOfMessages must be 1 to 10.")
        wait = min(MAX_WAIT, int(arguments.get("WaitTimeSeconds") or 0))
        names = {*(arguments.get("AttributeNames") or [])}
        names |= {*(arguments.get("MessageSystemAttributeNames") or [])}
        deadline = time.time() + wait
        with self._lock:
            queue = self._queue_at(arguments["QueueUrl"])
            visibility = int(arguments.get("VisibilityTimeout", queue.visibility_timeout))
            if not 0 <= visibility <= MAX_VISIBILITY:
                raise SqsError("InvalidParameterValue", "VisibilityTimeout must be 0 to 43200.")
            while True:
                picked = self._pick(queue, wanted, visibility)
                now = time.time()
                remaining = deadline - now
                if picked or remaining <= 0 or self._server is None:
                    break
                # Until a send wakes us, or the next hidden message comes back into view.
                soonest = queue.soonest_visible()
                if soonest is not None:
                    remaining = min(remaining, max(0.001, soonest - now))
                self._lock.wait(remaining)
        return {"Messages": [_shape(message, receipt, names) for message, receipt in picked]}

    def _pick(self, queue: _Queue, wanted: int, visibility: int) -> list[tuple[_Message, str]]:
        """Up to `wanted` visible messages, each from the group with the fewest in flight
        (then the oldest): the fair-queue rule. Call with the lock held."""
        now = time.time()
        picked: list[tuple[_Message, str]] = []
        load = {group: queue.load(group, now) for group in queue.waiting}
        while len(picked) < wanted:
            ready = [
                (load[group], message.seq, group, message)
                for group in queue.waiting
                if (message := queue.next_visible(group, now)) is not None
            ]
            if not ready:
                break
            _, _, group, message = min(ready, key=lambda r: (r[0], r[1]))
            heapq.heappop(queue.waiting[group])  # its entry; a new one goes in below
            message.receive_count += 1
            if queue.max_receive_count and message.receive_count > queue.max_receive_count:
                self._redrive(queue, message)
                continue
            if message.first_receive_ms is None:
                message.first_receive_ms = int(now * 1000)
            receipt = f"{message.id}#{uuid.uuid4().hex}"
            queue.receipts[receipt] = message.id
            queue.in_flight.setdefault(group, set()).add(message.id)
            load[group] += 1
            picked.append((message, receipt))
        for message, _ in picked:  # hidden only now, so one call never returns a message twice
            queue.schedule(message, now + visibility)
        return picked

    def _redrive(self, queue: _Queue, message: _Message) -> None:
        del queue.messages[message.id]
        if queue.dead_letter_url:
            self._send(self._queue_at(queue.dead_letter_url), {"MessageBody": message.body})

    def _DeleteMessage(self, arguments: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._delete(self._queue_at(arguments["QueueUrl"]), arguments["ReceiptHandle"])
        return {}

    def _DeleteMessageBatch(self, arguments: dict[str, Any]) -> dict[str, Any]:
        entries = arguments.get("Entries") or []
        if len(entries) > MAX_BATCH_ENTRIES:
            raise SqsError("TooManyEntriesInBatchRequest", f"At most {MAX_BATCH_ENTRIES}.")
        with self._lock:
            queue = self._queue_at(arguments["QueueUrl"])
            for entry in entries:
                self._delete(queue, entry["ReceiptHandle"])
        return {"Successful": [{"Id": entry["Id"]} for entry in entries], "Failed": []}

    def _delete(self, queue: _Queue, receipt: str) -> None:
        message_id = queue.receipts.pop(receipt, None)
        message = queue.messages.pop(message_id, None) if message_id else None
        if message is not None:
            queue.in_flight.get(message.group, set()).discard(message.id)

    def _ChangeMessageVisibility(self, arguments: dict[str, Any]) -> dict[str, Any]:
        timeout = int(arguments["VisibilityTimeout"])
        if not 0 <= timeout <= MAX_VISIBILITY:
            raise SqsError("InvalidParameterValue", "VisibilityTimeout must be 0 to 43200.")
        with self._lock:
            queue = self._queue_at(arguments["QueueUrl"])
            message_id = queue.receipts.get(arguments["ReceiptHandle"])
            message = queue.messages.get(message_id) if message_id else None
            if message is None:
                raise SqsError(
                    "InvalidParameterValue",
                    "Message does not exist or is not available for visibility timeout change.",
                )
            queue.schedule(message, time.time() + timeout)
            if timeout == 0:
                queue.in_flight.get(message.group, set()).discard(message.id)
                self._lock.notify_all()
        return {}

    def _queue_named(self, name: str) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            raise SqsError("QueueDoesNotExist", f"The queue {name} does not exist.")
        return queue

    def _queue_at(self, url: str) -> _Queue:
        return self._queue_named(url.rstrip("/").rsplit("/", 1)[-1])


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _shape(message: _Message, receipt: str, names: set[str]) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "MessageId": message.id,
        "ReceiptHandle": receipt,
        "MD5OfBody": _md5(message.body),
        "Body": message.body,
    }
    attributes = {
        "ApproximateReceiveCount": str(message.receive_count),
        "SentTimestamp": str(message.sent_ms),
        "ApproximateFirstReceiveTimestamp": str(message.first_receive_ms),
        "SenderId": ACCOUNT,
    }
    if message.group:
        attributes["MessageGroupId"] = message.group
    if "All" not in names:
        attributes = {name: value for name, value in attributes.items() if name in names}
    if attributes:
        shaped["Attributes"] = attributes
    return shaped
