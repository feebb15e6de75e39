"""The API in process against DynamoDB Local, for the benchmarks that count DynamoDB work.

`local_api()` starts DynamoDB Local (in memory; moto's server if Java is missing), creates
the table, points the store at it and yields a `LocalApi`: environments whose handlers are
called as API Gateway would call them (tests/unit/conftest.Invoke), a meter on the store's
client, and seeding that writes many real items fast (BatchWriteItem from threads, items
built by the store's own key and item functions).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import capacity
from bench.meter import CallMeter

TABLE = "waymark-bench"
FUNCTIONS = ("users", "groups", "events", "content", "content_sessions")
SEED_THREADS = 8
# Seeded users were created before the run, one millisecond apart, in id order.
SEED_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

Handler = Callable[..., tuple[int, Any]]


def progress(message: str) -> None:
    print(f"   {message}", file=sys.stderr, flush=True)


@dataclass
class Environment:
    id: str
    handlers: dict[str, Handler]

    def call(self, function: str, method: str, target: str, body: Any = None, **kw: Any) -> Any:
        """A request that must succeed: its answer."""
        status, answer = self.request(function, method, target, body, **kw)
        if status != 200:
            raise AssertionError(f"{method} {target}: {status} {answer}")
        return answer

    def request(
        self, function: str, method: str, target: str, body: Any = None, **kw: Any
    ) -> tuple[int, Any]:
        path, _, query = target.partition("?")
        return self.handlers[function](method, path, body=body, query=query, **kw)


class LocalApi:
    def __init__(self, engine: str, endpoint: str) -> None:
        from botocore.config import Config

        from infra.local.dynamodb_local import LOCAL_CREDENTIALS, REGION
        from shared.store import dynamo

        self.engine = engine
        self.meter = CallMeter(dynamo.client())
        # Unmetered: seeding, and reading items back to size them.
        import boto3

        self.raw = boto3.session.Session(**LOCAL_CREDENTIALS, region_name=REGION).client(
            "dynamodb",
            endpoint_url=endpoint,
            config=Config(max_pool_connections=SEED_THREADS * 2, retries={"max_attempts": 10}),
        )

    def environment(self, name: str) -> Environment:
        from shared.store import tenancy
        from tests.unit.conftest import Invoke

        environment_id = tenancy.create_environment(name).id
        handlers: dict[str, Handler] = {
            function: Invoke(
                importlib.import_module(f"functions.{function}.handler").lambda_handler,
                environment_id,
            )
            for function in FUNCTIONS
        }
        return Environment(environment_id, handlers)

    def item_size(self, key: dict[str, str]) -> int:
        """The stored item's size by DynamoDB's rules (0 if absent)."""
        found = self.raw.get_item(
            TableName=TABLE, Key={k: {"S": v} for k, v in key.items()}, ConsistentRead=True
        )
        return capacity.item_bytes(found["Item"]) if "Item" in found else 0

    def put_items(self, items: list[dict[str, Any]]) -> None:
        """BatchWriteItem puts, 25 a call, from threads; unprocessed items retried."""
        from shared.store import dynamo

        requests = [{"PutRequest": {"Item": dynamo.to_item(item)}} for item in items]
        batches = [requests[i : i + 25] for i in range(0, len(requests), 25)]

        def write(batch: list[dict[str, Any]]) -> None:
            pending: dict[str, Any] = {TABLE: batch}
            while pending:
                pending = self.raw.batch_write_item(RequestItems=pending).get("UnprocessedItems")

        with ThreadPoolExecutor(SEED_THREADS) as pool:
            list(pool.map(write, batches))

    def seed_users(
        self,
        environment_id: str,
        ids: range,
        attributes: Callable[[int], dict[str, Any]] = lambda i: {},
    ) -> None:
        """Users `u<i>` for i in `ids`, as a user upsert stores them (shared/store/users.py,
        attributed.write): key, id, creation order in GSI1, version, `a#` attributes."""
        from shared.clock import format_timestamp
        from shared.store import keys
        from shared.store.attributed import ATTRIBUTE_PREFIX

        items = []
        for i in ids:
            user_id = f"u{i}"
            created_at = format_timestamp(SEED_EPOCH + timedelta(milliseconds=i))
            items.append(
                {
                    **keys.user(environment_id, user_id),
                    "id": user_id,
                    "GSI1PK": keys.users_listing(environment_id),
                    "created_at": created_at,
                    "GSI1SK": keys.created_order(created_at, user_id),
                    "v": 1,
                    **{ATTRIBUTE_PREFIX + k: v for k, v in attributes(i).items()},
                }
            )
        self.put_items(items)

    def seed_events(self, environment_id: str, user_id: str, name: str, count: int) -> None:
        """`count` events of one user, built by the store's `events.new_event` (the same item
        `POST /events` writes, index keys included)."""
        from shared.store import events

        items = [
            events.new_event(
                environment_id,
                name=name,
                user_id=user_id,
                group_id=None,
                attributes={"n": n},
                time=None,
            )[1]
            for n in range(count)
        ]
        self.put_items(items)


@contextmanager
def local_api() -> Iterator[LocalApi]:
    from infra.local.dynamodb_local import DynamoDBLocal, ensure_table

    with DynamoDBLocal() as engine:
        ensure_table(engine.endpoint_url, TABLE)
        os.environ.update(
            TABLE_NAME=TABLE,
            DYNAMODB_ENDPOINT_URL=engine.endpoint_url,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
        )
        from shared.settings import get_settings
        from shared.store import dynamo

        get_settings.cache_clear()
        dynamo.reset()
        yield LocalApi(engine.engine, engine.endpoint_url)
        dynamo.reset()
