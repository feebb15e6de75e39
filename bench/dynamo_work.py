"""DynamoDB work per operation: the calls each API operation makes and the capacity DynamoDB
reports for them, counted on the client against DynamoDB Local (a real engine; moto, whose
capacity figures are fixed, if Java is missing), beside the least the operation could cost by
DynamoDB's rules (bench/capacity.py) and why the two differ."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from bench import capacity
from bench.capacity import Work
from bench.local_api import Environment, LocalApi, local_api, progress
from bench.meter import CallMeter
from bench.report import Section, table

__all__ = ["CallMeter", "Row", "run"]

CONDITION_SIZES = (1_000, 10_000)
DELETED_EVENTS = 1_000


@dataclass(frozen=True)
class Row:
    operation: str
    measured: Work
    detail: str  # the calls by operation
    index_units: float  # of the measured write units: index entries
    minimum: Work
    why: str


def _attributes(n: int) -> dict[str, Any]:
    return {f"attribute_{i}": f"value {i}" for i in range(n)}


def condition_query(attribute: str, value: Any) -> str:
    condition = {"type": "attribute", "attribute_name": attribute, "operator": "eq", "value": value}
    return "condition=" + quote(json.dumps(condition))


def walk(env: Environment, target: str) -> tuple[int, int]:
    """Follow `next_page_url` from `target` until `has_more` is false: (requests, matches)."""
    requests, found = 0, 0
    while True:
        answer = env.call("users", "GET", target)
        requests += 1
        found += len(answer["data"])
        if not answer["has_more"]:
            return requests, found
        url = urlsplit(answer["next_page_url"])
        target = f"{url.path}?{url.query}"


def starting_after(url: str) -> str:
    return parse_qs(urlsplit(url).query)["starting_after"][0]


class Bench:
    """The operations, each measured once, warm (definitions written, versions in memory)."""

    def __init__(self, api: LocalApi) -> None:
        self.api = api
        self.meter = api.meter
        self.rows: list[Row] = []

    def measure(
        self,
        operation: str,
        call: Any,
        minimum: Any,
        why: Any,
    ) -> Any:
        """Run `call()` metered; `minimum` is a Work, or a function of call's result giving one
        (sizes are read back after the call, unmetered)."""
        self.meter.clear()
        result = call()
        measured, detail, index = (
            self.meter.work(),
            self.meter.detail(),
            self.meter.index_write_units,
        )
        least = minimum(result) if callable(minimum) else minimum
        reason = why(result) if callable(why) else why
        self.rows.append(Row(operation, measured, detail, index, least, reason))
        return result

    def size(self, key: dict[str, str]) -> int:
        return self.api.item_size(key)


def bench_writes_and_reads(bench: Bench, env: Environment) -> None:
    from shared.store import keys

    e = env.id

    def users(user_id: str) -> dict[str, str]:
        return keys.user(e, user_id)

    # Warm: every attribute and group attribute name already has its definition.
    env.call("users", "POST", "/users", {"id": "warm", "attributes": _attributes(100)})
    env.call(
        "users",
        "POST",
        "/users",
        {"id": "warm", "groups": [{"id": "warm", "attributes": {"plan": "x"}}]},
    )
    env.call("users", "POST", "/users", {"id": "warm", "attributes": {"logins": {"add": 1}}})
    for group in ({}, {"group_id": "warm"}):
        event = {"user_id": "warm", "name": "clicked", "attributes": _attributes(3), **group}
        env.call("events", "POST", "/events", event)

    # A new user's entries, each a PutItem of a small item and its GSI2 or GSI3 entry.
    NEW_USER_ENTRIES = (
        "; a new user's entries: its id in the search index (GSI2) and its place in the "
        "three ordered lists (GSI3), 2 units each"
    )
    gap_upsert = (
        "a consistent read of the item first (limits are checked on the item after the write); "
        "its GSI1 entry (users by creation) costs as much again as the item"
    )
    for n in (0, 10, 100):
        user_id = f"attributes{n}"
        bench.measure(
            f"user upsert, new, {n} attributes",
            lambda user_id=user_id, n=n: env.call(
                "users", "POST", "/users", {"id": user_id, "attributes": _attributes(n)}
            ),
            lambda _, user_id=user_id: capacity.put(bench.size(users(user_id))),
            gap_upsert + NEW_USER_ENTRIES,
        )
    bench.measure(
        "user upsert, existing, set + add",
        lambda: env.call(
            "users",
            "POST",
            "/users",
            {"id": "attributes10", "attributes": {"attribute_1": "x", "logins": {"add": 1}}},
        ),
        lambda _: capacity.put(bench.size(users("attributes10"))),
        gap_upsert + "; an existing entry is rewritten (1 unit per KB)",
    )
    for n in (1, 10):
        user_id = f"groups{n}"
        groups = [{"id": f"g{n}-{i}", "attributes": {"plan": "pro"}} for i in range(n)]

        def least(_: Any, user_id: str = user_id, n: int = n) -> Work:
            work = capacity.put(bench.size(users(user_id)))
            for i in range(n):
                work += capacity.put(bench.size(keys.group(e, f"g{n}-{i}")))
                work += capacity.put(bench.size(keys.membership(e, user_id, f"g{n}-{i}")))
            return work

        bench.measure(
            f"user upsert, new, {n} new group{'s' if n > 1 else ''}",
            lambda user_id=user_id, groups=groups: env.call(
                "users", "POST", "/users", {"id": user_id, "groups": groups}
            ),
            least,
            "one consistent BatchGetItem of every item first; index entries: GSI1 for the user "
            "and each group, GSI1 (group members) and GSI2 (environment's memberships) for "
            "each membership",
        )

    bench.measure(
        "user get",
        lambda: env.call("users", "GET", "/users/attributes10"),
        lambda _: capacity.get(bench.size(users("attributes10")), consistent=False),
        "none",
    )

    def expanded_least(_: Any) -> Work:
        memberships = [bench.size(keys.membership(e, "groups10", f"g10-{i}")) for i in range(10)]
        groups = [
            capacity.read_units(bench.size(keys.group(e, f"g10-{i}")), consistent=False)
            for i in range(10)
        ]
        return (
            capacity.get(bench.size(users("groups10")), consistent=False)
            + capacity.query(memberships)
            + Work(1, sum(groups), 0.0)
        )

    bench.measure(
        "user get, expand memberships.group (10 groups)",
        lambda: env.call("users", "GET", "/users/groups10?expand=memberships.group"),
        expanded_least,
        "none: the user, its memberships (one Query) and their groups (one BatchGetItem)",
    )

    def search_least(answer: Any) -> Work:
        return capacity.query([bench.size(users(u["id"])) for u in answer["data"]])

    bench.measure(
        "user search, q=attributes (limit 10)",
        lambda: env.call("users", "GET", "/users/search?q=attributes&limit=10"),
        search_least,
        "a Query of the search index, then a BatchGetItem of the users its entries name (each "
        "entry is checked against its user, so an entry a later write left behind never shows)",
    )

    def page_least(answer: Any) -> Work:
        return capacity.query([bench.size(users(u["id"])) for u in answer["data"]])

    bench.measure(
        "user list page (limit 10)",
        lambda: env.call("users", "GET", "/users?limit=10"),
        page_least,
        "reads limit + 1 users, so that `has_more` is exact",
    )

    def event_least(answer: Any) -> Work:
        return capacity.put(bench.size(keys.event(e, "attributes10", None, answer["id"])))

    bench.measure(
        "event, user, 3 attributes",
        lambda: env.call(
            "events",
            "POST",
            "/events",
            {"user_id": "attributes10", "name": "clicked", "attributes": _attributes(3)},
        ),
        event_least,
        "index entries: GSI1 (the environment's events) and GSI2 (events by name), each a "
        "copy of the event",
    )
    bench.measure(
        "event, user + group",
        lambda: env.call(
            "events",
            "POST",
            "/events",
            {"user_id": "attributes10", "group_id": "g1-0", "name": "clicked"},
        ),
        lambda answer: capacity.put(bench.size(keys.event(e, "attributes10", None, answer["id"]))),
        "index entries: GSI1, GSI2 and GSI3 (a group's events)",
    )
    bench_idempotency(bench, env)


def bench_idempotency(bench: Bench, env: Environment) -> None:
    """The same write without the Idempotency-Key header, with a new key, retried with it."""
    from shared.store import keys

    body = {"id": "attributes10", "attributes": {"attribute_1": "y", "logins": {"add": 1}}}
    item = bench.size(keys.user(env.id, "attributes10"))
    headers = {"Idempotency-Key": "bench-key"}
    bench.measure(
        "user upsert, existing, with a new Idempotency-Key",
        lambda: env.call("users", "POST", "/users", body, headers=headers),
        capacity.put(item) + capacity.put(300) + capacity.put(300),
        "as without the key; the minimum has the claim and the kept response (~300 B each)",
    )
    bench.measure(
        "the same, retried with the key (answered from the kept response)",
        lambda: env.call("users", "POST", "/users", body, headers=headers),
        capacity.put(300),
        "DynamoDB Local reports nothing for a refused conditional write; DynamoDB charges it "
        "as a write of the kept record (1 unit per KB)",
    )


def bench_conditions(bench: Bench, api: LocalApi) -> None:
    """A condition matching one user, the newest, over 1,000 and 10,000 users seeded with
    BatchWriteItem (items built by the store's key functions: bench/local_api.py)."""
    from shared.store import keys

    for n in CONDITION_SIZES:
        env = api.environment(f"conditions {n}")
        started = time.perf_counter()
        api.seed_users(env.id, range(n), lambda i, n=n: {"a": 7 if i == n - 1 else 1})  # type: ignore[misc]
        progress(f"{n:,} users seeded in {time.perf_counter() - started:.1f} s")
        size = bench.size(keys.user(env.id, "u0"))
        target = "/users?limit=10&" + condition_query("a", 7)
        examined = min(n, 1_000)
        bench.measure(
            f"user list, condition, first page, {n:,} users (1 match, the newest)",
            lambda env=env, target=target: env.call("users", "GET", target),
            capacity.query([size] * examined),
            "the minimum reads the same 1,000 users (the budget) in one Query; pages of 100 "
            "round to 4 KB each",
        )
        pages = -(-n * size // 1_000_000)  # a Query reads at most 1 MB
        bench.measure(
            f"user list, condition, every page, {n:,} users",
            lambda env=env, target=target: walk(env, target),
            Work(pages, capacity.query_units([size] * n), 0.0),
            lambda walked: (
                f"{walked[0]} requests of up to 1,000 users (the budget); each after the first "
                "reads its `starting_after` user (+1 GetItem); pages of 100 round to 4 KB each. "
                "Without an index on the attribute every user is read"
            ),
        )


def bench_delete(bench: Bench, env: Environment, api: LocalApi) -> None:
    """DELETE /users/:id of a user with 1,000 events, and the cascade it starts (run here in
    process, as the cascade function runs it on the stream record of the purge job)."""
    from shared.services import deletion
    from shared.store import dynamo, keys, purges

    e = env.id
    env.call("users", "POST", "/users", {"id": "doomed", "attributes": {"plan": "x"}})
    api.seed_events(e, "doomed", "deleted_later", DELETED_EVENTS)
    partition = keys.user(e, "doomed")["PK"]
    sizes = [
        capacity.item_bytes(item)
        for page in _raw_partition(api, partition)
        for item in page
        if item["SK"]["S"] != "U"
    ]
    user_size = bench.size(keys.user(e, "doomed"))

    def delete_and_purge() -> None:
        env.call("users", "DELETE", "/users/doomed")
        # The stream hands the cascade its job (stream reads by a Lambda trigger are free):
        # read it unmetered.
        for page in _raw_partition(api, keys.purge_jobs(e)):
            job = purges.job_from_image(dynamo.from_item(page[0]))
            assert job is not None
            deletion.run_purge(job)

    pages = -(-sum(sizes) // 1_000_000)
    least = (
        Work(1, 0.0, float(capacity.write_units(user_size)))
        + Work(pages, capacity.query_units(sizes), 0.0)
        + capacity.batch_write(sizes)
    )
    bench.measure(
        f"user delete, {DELETED_EVENTS:,} events (request + cascade)",
        delete_and_purge,
        least,
        "each event's GSI1 and GSI2 entries are deleted too (+2 units an event); the request "
        "also queries memberships and session locks and writes the purge job, which the "
        "cascade reads back",
    )


def _raw_partition(api: LocalApi, partition: str) -> list[list[dict[str, Any]]]:
    from bench.local_api import TABLE

    pages = api.raw.get_paginator("query").paginate(
        TableName=TABLE,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": partition}},
    )
    return [page["Items"] for page in pages]


def bench_sessions(bench: Bench, env: Environment) -> None:
    """A session's start, a progress step and an answer, warm (the content's version in
    memory, the built-in events' definitions written)."""
    from shared.store import keys

    e = env.id
    for user_id in ("s0", "s1"):
        env.call("users", "POST", "/users", {"id": user_id})
    content = env.call("content", "POST", "/content", {"name": "Tour", "type": "flow"})
    questions = {"questions": [{"name": "Score", "type": "nps"}]}
    env.call("content", "PATCH", f"/content/{content['id']}/draft", questions)
    content = env.call("content", "POST", f"/content/{content['id']}/publish")
    version = env.call(
        "content", "GET", f"/content_versions/{content['published_version_id']}?expand=questions"
    )
    cvid = version["questions"][0]["cvid"]

    def steps(user_id: str, measured: bool) -> None:
        def session(answer: Any) -> int:
            return bench.size(keys.content_session(e, answer["id"]))

        def event(user: str) -> int:
            items = bench.api.raw.query(
                TableName="waymark-bench",
                KeyConditionExpression="PK = :pk AND begins_with(SK, :ev)",
                ExpressionAttributeValues={
                    ":pk": {"S": keys.user(e, user)["PK"]},
                    ":ev": {"S": keys.EVENT_PREFIX},
                },
                ScanIndexForward=False,
                Limit=1,
            )["Items"]
            return capacity.item_bytes(items[0])

        def transaction(sizes: list[int]) -> Work:
            units = sum(capacity.write_units(s, transactional=True) for s in sizes)
            return Work(1, 0.0, float(units))

        start_body = {"content_id": content["id"], "user_id": user_id}
        if not measured:
            answer = env.call("content_sessions", "POST", "/content_sessions", start_body)
            path = f"/content_sessions/{answer['id']}"
            env.call("content_sessions", "POST", f"{path}/progress", {"progress": 0.5})
            env.call(
                "content_sessions",
                "POST",
                f"{path}/answers",
                {"question_cvid": cvid, "answer_value": 9},
            )
            return
        started = bench.measure(
            "session start",
            lambda: env.call("content_sessions", "POST", "/content_sessions", start_body),
            lambda a: (
                capacity.get(bench.size(keys.content(e, content["id"])))
                + transaction(
                    [
                        session(a),
                        bench.size(keys.session_lock(e, user_id, content["id"])),
                        event(user_id),
                    ]
                )
            ),
            "index entries: the session's three (all, by activity, by content) and the "
            "event's two, doubled in a transaction; the user's existence check and history "
            "item (the user's sessions, deleted with it)",
        )
        path = f"/content_sessions/{started['id']}"
        bench.measure(
            "session progress",
            lambda: env.call("content_sessions", "POST", f"{path}/progress", {"progress": 0.5}),
            lambda a: capacity.put(session(a)),
            "index entries: the last-activity entry moves (delete + put), the other two are "
            "rewritten (every index projects the whole item)",
        )
        bench.measure(
            "session answer",
            lambda: env.call(
                "content_sessions",
                "POST",
                f"{path}/answers",
                {"question_cvid": cvid, "answer_value": 9},
            ),
            lambda a: (
                capacity.get(session(a))
                + transaction(
                    [
                        session(a),
                        bench.size(keys.session_answer(e, user_id, a["id"], cvid)),
                        event(user_id),
                    ]
                )
            ),
            "index entries of the session (one moved, two rewritten) and of the event (two), "
            "doubled in the transaction",
        )

    steps("s0", measured=False)
    steps("s1", measured=True)


def rows_table(rows: list[Row]) -> str:
    return table(
        [
            "operation",
            "calls",
            "RCU",
            "WCU (of which index)",
            "min calls",
            "min RCU",
            "min WCU",
            "why the gap",
        ],
        [
            (
                row.operation,
                f"{row.measured.calls}: {row.detail}",
                row.measured.read_units,
                f"{row.measured.write_units:,.1f} ({row.index_units:,.1f})",
                row.minimum.calls,
                row.minimum.read_units,
                row.minimum.write_units,
                row.why,
            )
            for row in rows
        ],
    )


def measure_all() -> tuple[list[Row], str]:
    with local_api() as api:
        bench = Bench(api)
        env = api.environment("Bench")
        progress("writes and reads")
        bench_writes_and_reads(bench, env)
        progress("sessions")
        bench_sessions(bench, env)
        progress("delete")
        bench_delete(bench, env, api)
        progress("conditions")
        bench_conditions(bench, api)
        return bench.rows, api.engine


def run() -> list[Section]:
    rows, engine = measure_all()
    method = f"""
Each operation called once in process on a warm container (definitions already written, the
content's published version in memory) against {engine}, counting the calls on the store's
DynamoDB client and the capacity each reports (`ReturnConsumedCapacity=INDEXES`). RCU and WCU
are read and write capacity units; WCU counts transactions by DynamoDB's rules (2 per item up
to 1 KB: DynamoDB Local rounds the sum of the items' sizes instead), and "of which index" is
what the global secondary indexes took: DynamoDB charges every index entry written, moved or
deleted as a write. "min" is the least the operation could cost by DynamoDB's rules
(bench/capacity.py) for what the API promises: the table items it must read and write, sized
as stored (read back after the call), with no index entry and no extra item; an upsert is
one UpdateItem per object, a transaction where the API promises all or nothing. The users of
the condition rows were written with BatchWriteItem (8 threads) as the user upsert stores them
(`keys.user`, `keys.users_listing`, `keys.created_order`, `a#` attributes); the deleted user's
events with `events.new_event`, the item `POST /events` writes.
"""
    worst = sorted(
        (r for r in rows if r.minimum.units),
        key=lambda r: r.measured.units / r.minimum.units,
        reverse=True,
    )[:3]
    findings = (
        "Furthest above the minimum (measured / minimum capacity): "
        + "; ".join(f"{r.operation} ({r.measured.units / r.minimum.units:.1f}x)" for r in worst)
        + ". Index entries are most of the gap almost everywhere: every index projects whole "
        "items (`ALL`), so each entry costs as much as the item. Reads before writes (the "
        "limit checks) add a call but little capacity. A condition list costs what reading "
        "its users costs: 1,000 users a request whatever the environment's size, and every "
        "user to walk every page (see Growth)."
    )
    return [Section("DynamoDB work per operation", method, [rows_table(rows)], findings)]
