"""The local stand-in for Lambda's DynamoDB Streams event source mapping.

Reads the table's stream (DynamoDB Local) and hands each batch, shaped as Lambda's
DynamoDB stream event, to the stream consumers (cascade, webhook dispatch), each getting only
the records its mapping's filter passes. Records a consumer reports as failed (partial batch
response) are retried, like the real mapping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3

from infra.local.event_filter import matches

log = logging.getLogger("waymark.local.streams")

StreamHandler = Callable[[dict[str, Any], Any], Any]
# A consumer as its event source mapping runs it: the handler, and its filter (None: all).
StreamConsumer = tuple[StreamHandler, dict[str, Any] | None]
MAX_RETRIES = 5


class StreamPoller:
    def __init__(
        self,
        *,
        endpoint_url: str,
        table_name: str,
        handlers: dict[str, StreamConsumer],
        region: str = "us-east-1",
        interval: float = 0.1,
        from_start: bool = False,
    ) -> None:
        self.handlers = handlers
        self.interval = interval
        self.from_start = from_start
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=region
        )
        self.dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
        self.streams = session.client("dynamodbstreams", endpoint_url=endpoint_url)
        self.stream_arn = self.dynamodb.describe_table(TableName=table_name)["Table"][
            "LatestStreamArn"
        ]
        self._iterators: dict[str, str | None] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._seed_iterators()

    def _seed_iterators(self) -> None:
        kind = "TRIM_HORIZON" if self.from_start else "LATEST"
        for shard in self._shards():
            self._iterators[shard] = self._iterator(shard, kind)

    def _shards(self) -> list[str]:
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description.get("Shards", [])]

    def _iterator(self, shard: str, kind: str) -> str | None:
        response = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard, ShardIteratorType=kind
        )
        iterator: str | None = response.get("ShardIterator")
        return iterator

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until a full pass over every shard found nothing new (tests)."""
        self._idle.clear()
        if not self._idle.wait(timeout):
            raise TimeoutError("the stream poller did not catch up in time")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                found = self.poll_once()
            except Exception:  # keep the local stack alive; the record is logged
                log.exception("stream poll failed")
                found = 0
            if not found:
                self._idle.set()
                self._stop.wait(self.interval)

    def poll_once(self) -> int:
        """One pass over every shard; returns how many records were handled."""
        for shard in self._shards():
            if shard not in self._iterators:
                # A shard that appeared after we started holds only new records.
                self._iterators[shard] = self._iterator(shard, "TRIM_HORIZON")
        handled = 0
        for shard, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            response = self.streams.get_records(ShardIterator=iterator, Limit=100)
            self._iterators[shard] = response.get("NextShardIterator")
            records = [self._lambda_record(r) for r in response.get("Records", [])]
            if records:
                self._deliver(records)
                handled += len(records)
        return handled

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        shaped = dict(record)
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = created.timestamp()
        shaped["dynamodb"] = dynamodb
        shaped["eventSourceARN"] = self.stream_arn
        shaped.setdefault("eventSource", "aws:dynamodb")
        shaped.setdefault("awsRegion", "us-east-1")
        return shaped

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        for name, (handler, record_filter) in self.handlers.items():
            pending = [r for r in records if record_filter is None or matches(record_filter, r)]
            if not pending:
                continue  # the mapping filters them out: the function is not invoked
            for attempt in range(MAX_RETRIES + 1):
                try:
                    result = handler({"Records": pending}, None) or {}
                    failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
                except Exception:  # a crashed invocation: the mapping retries the whole batch
                    log.exception("%s failed; retrying its batch", name)
                    failed = {r["dynamodb"]["SequenceNumber"] for r in pending}
                if not failed:
                    break
                # Like the real mapping: retry from the first failed record on.
                first = next(
                    i for i, r in enumerate(pending) if r["dynamodb"]["SequenceNumber"] in failed
                )
                pending = pending[first:]
                if attempt == MAX_RETRIES:
                    log.error("%s gave up on %d stream records", name, len(pending))
                else:
                    time.sleep(min(2.0, 0.1 * 2**attempt))
