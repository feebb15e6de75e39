"""The largest tenants (docs/scaling.md): what a list page reads from sharded keys, and what
users ordered by an attribute and condition lists cost at scale, on DynamoDB Local.

Seeds with BatchWriteItem of the store's own item builders (the items an upsert or a track
would write), so 100,000 users take minutes, not hours. `BENCH_SCALE_USERS` sets the count.
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from bench.dynamo_work import CallMeter
from bench.local_api import local_api
from bench.report import Section, table

USERS = int(os.environ.get("BENCH_SCALE_USERS", "100000"))
EVENTS = 2_000
REPEATS = 5


def _batch_write(items: list[dict[str, Any]]) -> None:
    from shared.store import dynamo

    for start in range(0, len(items), 25):
        request = {
            dynamo.table_name(): [
                {"PutRequest": {"Item": dynamo.to_item(i)}} for i in items[start : start + 25]
            ]
        }
        while request:
            request = dynamo.client().batch_write_item(RequestItems=request).get("UnprocessedItems")


def _seed_events(environment_id: str, *, unsharded: bool) -> None:
    from shared.store import events, keys

    items = []
    for number in range(EVENTS):
        _, item = events.new_event(
            environment_id,
            name="page_viewed",
            user_id=f"u{number % 50}",
            group_id=None,
            attributes={"path": "/app/projects/123", "plan": "pro", "duration": 1234},
            time=None,
        )
        if unsharded:  # the keys every event had before the shards
            item["GSI1PK"] = keys.events_listing(environment_id)
            item["GSI2PK"] = keys.events_by_name_listing(environment_id, "page_viewed")
        items.append(item)
    _batch_write(items)


def _seed_users(environment_id: str, first: int, last: int) -> None:
    """Users `first`..`last - 1` as an upsert stores them, with their last_seen_at entries."""
    from shared.domain.attributes import parse_changes
    from shared.store import attributed, user_order, users

    items: list[dict[str, Any]] = []
    for number in range(first, last):
        user_id = f"user{number:07d}"
        attributes = {
            "name": f"User {number}",
            "email": f"user{number}@example.com",
            "plan": ("free", "pro", "team")[number % 3],
            "logins": number % 97,
            "last_seen_at": f"2025-{1 + number % 12:02d}-{1 + number % 28:02d}T00:00:00.000+00:00",
        }
        planned = users.planned_upsert(environment_id, user_id, parse_changes(attributes))
        item = attributed.projected_item(planned, None, attributes)
        item["v"] = 1
        items.append(item)
        items.append(
            user_order.entry_item(
                environment_id,
                user_id,
                item["created_at"],
                1,
                "last_seen_at",
                attributes["last_seen_at"],
            )
        )
        if len(items) >= 2_000:
            _batch_write(items)
            items = []
    _batch_write(items)


def _measure(meter: CallMeter, call: Callable[[], Any]) -> tuple[int, float, float]:
    """(calls, CU, median seconds) of `call`, run REPEATS times."""
    seconds = []
    for _ in range(REPEATS):
        meter.clear()
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return len(meter.calls), meter.capacity, statistics.median(seconds)


def run() -> list[Section]:
    with local_api() as engine:
        from shared.store import dynamo, tenancy
        from tests.unit.conftest import Invoke

        meter = CallMeter(dynamo.client())
        handler = importlib.import_module("functions.events.handler").lambda_handler
        users_handler = importlib.import_module("functions.users.handler").lambda_handler

        def ok(invoke: Invoke, path: str, query: str) -> Callable[[], Any]:
            def call() -> Any:
                status, body = invoke("GET", path, query=query)
                assert status == 200, body
                return body

            return call

        # 1. An event list page: one unsharded key (before) and 8 shards + the old key (now).
        event_rows = []
        for label, unsharded in (
            ("events from before the shards, read now", True),
            ("events in shards, read now", False),
        ):
            environment_id = tenancy.create_environment(label).id
            _seed_events(environment_id, unsharded=unsharded)
            events = Invoke(handler, environment_id)
            if unsharded:
                # What the code before the shards read: one Query of the one key.
                from shared.store import keys, pages

                def old_page(environment_id: str = environment_id) -> Any:
                    return pages.query_page(
                        index="GSI1",
                        partition=keys.events_listing(environment_id),
                        limit=100,
                        descending=True,
                        start_key=None,
                    )

                calls, units, seconds = _measure(meter, old_page)
                event_rows.append(
                    ("before: the old code", "limit=100", calls, units, seconds * 1000)
                )
            for query in ("limit=100", "limit=10", "name=page_viewed&limit=100"):
                calls, units, seconds = _measure(meter, ok(events, "/events", query))
                event_rows.append((label, f"GET /events?{query}", calls, units, seconds * 1000))

        # 2. and 3. Users: the in-memory sort at its budget, then the ordered entries at scale.
        environment_id = tenancy.create_environment("Users").id
        users = Invoke(users_handler, environment_id)
        everyone = quote(
            json.dumps({"type": "attribute", "attribute_name": "x", "operator": "empty"})
        )
        rare = quote(
            json.dumps(
                {"type": "attribute", "attribute_name": "plan", "operator": "eq", "value": "none"}
            )
        )
        user_rows = []
        seeded = 0
        started = time.perf_counter()
        _seed_users(environment_id, 0, 10_000)
        seeded, seed_seconds = 10_000, time.perf_counter() - started
        for label, query in (
            (
                "10,000 users, sorted in memory (a condition all match: the old path)",
                f"order_by=-attributes.last_seen_at&limit=100&condition={everyone}",
            ),
            ("10,000 users, ordered entries", "order_by=-attributes.last_seen_at&limit=100"),
            (
                "condition in creation order, 1,000 users examined, no match",
                f"limit=100&condition={rare}",
            ),
        ):
            calls, units, seconds = _measure(meter, ok(users, "/users", query))
            user_rows.append((label, calls, units, seconds * 1000))
        if seeded < USERS:
            started = time.perf_counter()
            _seed_users(environment_id, seeded, USERS)
            seed_seconds += time.perf_counter() - started
            status, _ = users(
                "GET", "/users", query=f"order_by=attributes.last_seen_at&condition={everyone}"
            )
            assert status == 400  # the old path's budget
            for label, query in (
                (
                    f"{USERS:,} users, ordered entries, first page",
                    "order_by=-attributes.last_seen_at&limit=100",
                ),
                (
                    f"{USERS:,} users, ordered entries, a page after a cursor",
                    "order_by=attributes.last_seen_at&limit=100"
                    f"&starting_after=user{USERS // 2:07d}",
                ),
            ):
                calls, units, seconds = _measure(meter, ok(users, "/users", query))
                user_rows.append((label, calls, units, seconds * 1000))

    return [
        Section(
            title="Scaling: event list pages from shards",
            method=(
                f"`python -m bench scaling`: {EVENTS:,} events (487 bytes each) in one "
                "environment with the keys events had before the shards, and in another with "
                "the shards; each page read through the events function, median of "
                f"{REPEATS}, on DynamoDB Local ({engine.engine}); CU as DynamoDB Local reports "
                "them (eventually consistent Queries: 0.5 per 4 KB read, per partition)."
            ),
            parts=[table(["layout", "request", "calls", "CU", "ms"], event_rows)],
        ),
        Section(
            title="Scaling: users ordered by an attribute",
            method=(
                f"`python -m bench scaling`: users with 5 attributes, seeded with BatchWriteItem "
                f"of the store's items ({seeded if seeded >= USERS else USERS:,} users and "
                f"their last_seen_at entries in {seed_seconds:.0f} s); each request through the "
                f"users function, median of {REPEATS}."
            ),
            parts=[table(["request", "calls", "CU", "ms"], user_rows)],
        ),
    ]
