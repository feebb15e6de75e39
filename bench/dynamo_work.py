"""DynamoDB calls and consumed capacity per API operation, counted on the client against
DynamoDB Local (a real engine; moto, whose capacity figures are fixed, if Java is missing)."""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections import Counter
from typing import Any
from urllib.parse import quote

from bench.report import Section


class CallMeter:
    """Counts DynamoDB calls on the shared client and asks each for its consumed capacity."""

    def __init__(self, client: Any, *, this_thread_only: bool = False) -> None:
        """`this_thread_only`: count only the calls this thread makes (the local stack's
        pollers share the client from threads of their own)."""
        self.calls: list[str] = []
        self.capacity = 0.0
        self.written = 0  # items the write calls wrote or checked (a transaction's every item)
        # Transactions: their items, and the table units DynamoDB Local reported for them.
        self.transaction_items = 0
        self.transaction_table_units = 0.0
        self.thread = threading.get_ident() if this_thread_only else None
        client.meta.events.register("provide-client-params.dynamodb.*", self._ask_capacity)
        client.meta.events.register("after-call.dynamodb.*", self._record)

    def _ask_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "INDEXES"  # the total, and where it went
        if self.thread is not None and threading.get_ident() != self.thread:
            return
        if model.name == "TransactWriteItems":
            self.written += len(params["TransactItems"])
            self.transaction_items += len(params["TransactItems"])
        elif model.name in {"PutItem", "UpdateItem", "DeleteItem"}:
            self.written += 1

    def _record(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if self.thread is not None and threading.get_ident() != self.thread:
            return
        self.calls.append(model.name)
        consumed = parsed.get("ConsumedCapacity") or []
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            self.capacity += float(entry.get("CapacityUnits", 0))
            if model.name == "TransactWriteItems":
                self.transaction_table_units += float(
                    entry.get("Table", {}).get("CapacityUnits", 0)
                )

    def clear(self) -> None:
        self.calls.clear()
        self.capacity = 0.0
        self.written = 0
        self.transaction_items = 0
        self.transaction_table_units = 0.0

    def by_dynamodb_rules(self) -> float:
        """The capacity as DynamoDB counts a transaction's table units: 2 an item (items up to
        1 KB), where DynamoDB Local rounds the sum of the items' sizes instead."""
        return self.capacity - self.transaction_table_units + 2 * self.transaction_items

    def summary(self) -> str:
        counts = Counter(self.calls)
        detail = ", ".join(f"{n} {name}" if n > 1 else name for name, n in counts.items())
        return f"{len(self.calls):3d} calls  {self.capacity:6.1f} CU  ({detail})"


def _attributes(n: int) -> dict[str, Any]:
    return {f"attribute_{i}": f"value {i}" for i in range(n)}


_RARE = quote(
    json.dumps({"type": "attribute", "attribute_name": "a", "operator": "eq", "value": 7})
)


def _seed_events(environment_id: str, name: str, count: int) -> None:
    """Events written straight to the table, 25 a call: the bench reads them."""
    from shared.store import dynamo, events

    items = [
        events.new_event(
            environment_id, name=name, user_id="seed0", group_id=None, attributes={}, time=None
        )[1]
        for _ in range(count)
    ]
    for start in range(0, count, 25):
        batch = [{"PutRequest": {"Item": dynamo.to_item(i)}} for i in items[start : start + 25]]
        dynamo.client().batch_write_item(RequestItems={dynamo.table_name(): batch})


# (label, function, method, path, body) - each runs on a warm container, so definitions
# already written by the warm-up are not written again; "first" rows show a cold write.
Operation = tuple[str, str, str, str, dict[str, Any] | None]
OPERATIONS: list[Operation] = [
    (
        "user upsert, new, 1 attribute",
        "users",
        "POST",
        "/users",
        {"id": "n1", "attributes": _attributes(1)},
    ),
    (
        "user upsert, new, 10 attributes",
        "users",
        "POST",
        "/users",
        {"id": "n10", "attributes": _attributes(10)},
    ),
    (
        "user upsert, new, 50 attributes",
        "users",
        "POST",
        "/users",
        {"id": "n50", "attributes": _attributes(50)},
    ),
    (
        "user upsert, existing, set + add",
        "users",
        "POST",
        "/users",
        {"id": "n10", "attributes": {"attribute_1": "x", "count": {"add": 1}}},
    ),
    (
        "user upsert, list append (read-modify-write)",
        "users",
        "POST",
        "/users",
        {"id": "n10", "attributes": {"tags": {"append": "x"}}},
    ),
    (
        "user upsert, 1 group",
        "users",
        "POST",
        "/users",
        {"id": "m1", "groups": [{"id": "g0", "attributes": {"plan": "pro"}}]},
    ),
    (
        "user upsert, 5 groups",
        "users",
        "POST",
        "/users",
        {"id": "m5", "groups": [{"id": f"g{i}", "attributes": {"plan": "pro"}} for i in range(5)]},
    ),
    (
        "user upsert, 20 groups",
        "users",
        "POST",
        "/users",
        {
            "id": "m20",
            "groups": [{"id": f"g{i}", "attributes": {"plan": "pro"}} for i in range(20)],
        },
    ),
    (
        "user upsert, 5 groups again (prune)",
        "users",
        "POST",
        "/users",
        {"id": "m20", "groups": [{"id": f"g{i}"} for i in range(5)], "prune_memberships": True},
    ),
    (
        "group upsert, 10 attributes",
        "groups",
        "POST",
        "/groups",
        {"id": "g100", "attributes": _attributes(10)},
    ),
    (
        "event, user, 3 attributes",
        "events",
        "POST",
        "/events",
        {"user_id": "n1", "name": "clicked", "attributes": _attributes(3)},
    ),
    (
        "event, user + group",
        "events",
        "POST",
        "/events",
        {"user_id": "n1", "group_id": "g0", "name": "clicked"},
    ),
    (
        "event, new name (cold definitions)",
        "events",
        "POST",
        "/events",
        {"user_id": "n1", "name": "brand_new", "attributes": {"x": 1}},
    ),
    ("user get", "users", "GET", "/users/n10", None),
    ("user search, q=seed (limit 10)", "users", "GET", "/users/search?q=seed", None),
    ("user list page (limit 10)", "users", "GET", "/users", None),
    (
        "user list page, expand memberships.group (20)",
        "users",
        "GET",
        "/users?limit=20&expand=memberships.group",
        None,
    ),
    (
        "user list, condition, its one match",
        "users",
        "GET",
        "/users?limit=1&condition=" + _RARE,
        None,
    ),
    (
        "event list by name, 600 newer of another name",
        "events",
        "GET",
        "/events?name=rare&limit=1",
        None,
    ),
    ("user delete (1 membership)", "users", "DELETE", "/users/m1", None),
]


def bench_dynamodb_calls() -> None:
    from infra.local.dynamodb_local import DynamoDBLocal, ensure_table

    with DynamoDBLocal() as engine:
        endpoint = engine.endpoint_url
        ensure_table(endpoint, "waymark-bench")
        os.environ.update(
            TABLE_NAME="waymark-bench",
            DYNAMODB_ENDPOINT_URL=endpoint,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
        )
        from shared.settings import get_settings
        from shared.store import dynamo, tenancy
        from tests.unit.conftest import Invoke

        get_settings.cache_clear()
        dynamo.reset()
        environment_id = tenancy.create_environment("Bench").id
        handlers = {
            name: Invoke(
                importlib.import_module(f"functions.{name}.handler").lambda_handler, environment_id
            )
            for name in ("users", "groups", "events", "content", "content_sessions")
        }
        meter = CallMeter(dynamo.client())
        for i in range(12):
            attributes = {"a": 7 if i == 11 else 1}  # one rare value, for the condition row
            handlers["users"]("POST", "/users", body={"id": f"seed{i}", "attributes": attributes})
        for i in range(18):
            handlers["users"](
                "POST", "/users", body={"id": f"member{i}", "groups": [{"id": f"g{i % 4}"}]}
            )
        handlers["events"]("POST", "/events", body={"user_id": "seed0", "name": "rare"})
        _seed_events(environment_id, "common", 600)
        # Warm the definitions cache the way a warm container has it.
        handlers["users"]("POST", "/users", body={"id": "w", "attributes": _attributes(50)})
        handlers["users"](
            "POST", "/users", body={"id": "w", "groups": [{"id": "w", "attributes": {"plan": "x"}}]}
        )
        handlers["events"](
            "POST",
            "/events",
            body={"user_id": "w", "name": "clicked", "attributes": _attributes(3)},
        )

        print(f"DynamoDB calls and consumed capacity per operation ({engine.engine}, warm):")
        for label, function, method, target, body in OPERATIONS:
            meter.clear()
            path, _, query = target.partition("?")
            status, _ = handlers[function](method, path, body=body, query=query)
            assert status == 200, (label, status)
            print(f"  {label:46s} {meter.summary()}")
        bench_session_calls(handlers, meter)
        bench_idempotency(handlers, meter)


# The least a session step can do: the calls it cannot do without, the items they must write
# for what the API promises (one active session per user and content; a step and its event
# together; the reference's session lists by creation, by content and by last activity, and
# GET /events with and without a name), and what that costs by DynamoDB's rules: 1 unit a
# strongly consistent read (up to 4 KB); 1 a written item (up to 1 KB) and 1 an index entry
# it writes (2 when its key changes: the entry moves); twice that inside a transaction.
SESSION_MINIMUMS = {
    # Read the content (its published version); write session (3 index entries), lock and
    # flow_started (2 index entries) together.
    "start": (2, 1 + 2 * (3 + 3 + 2), "read content; write session, lock, event"),
    # Write the session; its last-activity entry moves, the two others are rewritten (every
    # index holds whole items).
    "progress": (1, 1 + 2 + 1 + 1, "write the session"),
    # Read the session (version, state); write session (entries: 1 moved, 2 rewritten),
    # answer and question_answered (2 entries) together.
    "answer": (2, 1 + 2 * (3 + 4 + 2), "read session; write session, answer, event"),
}


def bench_session_calls(handlers: dict[str, Any], meter: CallMeter) -> None:
    """DynamoDB calls and capacity of a session's start, progress and answer, warm (the
    content's version already in memory, definitions written), with the minimum beside each."""

    def call(function: str, method: str, path: str, body: Any = None, query: str = "") -> Any:
        status, answer = handlers[function](method, path, body=body, query=query)
        assert status == 200, (path, answer)
        return answer

    for user_id in ("s0", "s1"):
        call("users", "POST", "/users", {"id": user_id})
    content = call("content", "POST", "/content", {"name": "Tour", "type": "flow"})
    questions = {"questions": [{"name": "Score", "type": "nps"}]}
    call("content", "PATCH", f"/content/{content['id']}/draft", questions)
    content = call("content", "POST", f"/content/{content['id']}/publish")
    version = call("content", "GET", f"/content_versions/{content['published_version_id']}")
    version = call("content", "GET", f"/content_versions/{version['id']}", query="expand=questions")
    answer = {"question_cvid": version["questions"][0]["cvid"], "answer_value": 9}

    def run(user_id: str, measured: bool) -> None:
        session: dict[str, Any] = {}
        for step, path, body in (
            ("start", "/content_sessions", {"content_id": content["id"], "user_id": user_id}),
            ("progress", "/content_sessions/{id}/progress", {"progress": 0.5}),
            ("answer", "/content_sessions/{id}/answers", answer),
        ):
            meter.clear()
            session = call("content_sessions", "POST", path.format(id=session.get("id")), body)
            if measured:
                calls, units, what = SESSION_MINIMUMS[step]
                print(f"  {'session ' + step:46s} {meter.summary()}")
                print(
                    f"      {meter.written} items written, {meter.by_dynamodb_rules():.1f} CU by "
                    f"DynamoDB's rules; minimum {calls} calls, {units:.1f} CU ({what})"
                )

    run("s0", measured=False)  # warm: definitions of the built-in events, the version in memory
    print(
        "  Sessions (DynamoDB Local counts a transaction's table units over the sum of its"
        " items' sizes;\n  DynamoDB counts 2 an item up to 1 KB: the minimums use its rules):"
    )
    run("s1", measured=True)


# Writes of OPERATIONS measured again: without the Idempotency-Key header, with a new key,
# and retried with it.
IDEMPOTENT_WRITES = (
    "user upsert, existing, set + add",
    "user upsert, 5 groups",
    "group upsert, 10 attributes",
    "event, user, 3 attributes",
)


def bench_idempotency(handlers: dict[str, Any], meter: CallMeter) -> None:
    """What the Idempotency-Key header costs a write: a claim (conditional PutItem) before it
    and the kept response (UpdateItem) after; a retry with the key costs only the refused
    claim. Without the header a write makes no call more than it always did."""
    print("  Idempotency-Key (the same write: without the header, with a new key, retried):")
    writes = [operation for operation in OPERATIONS if operation[0] in IDEMPOTENT_WRITES]
    for number, (label, function, method, path, body) in enumerate(writes):
        handlers[function](method, path, body=body)  # warm: the objects exist, definitions
        rows = []
        for case, headers in (
            ("without", None),
            ("new key", {"Idempotency-Key": f"bench-{number}"}),
            ("retried", {"Idempotency-Key": f"bench-{number}"}),
        ):
            meter.clear()
            status, _ = handlers[function](method, path, body=body, headers=headers)
            assert status == 200, (label, case, status)
            rows.append((case, len(meter.calls), meter.capacity, meter.summary()))
        print(f"    {label}")
        base_calls, base_units = rows[0][1], rows[0][2]
        for case, calls, units, summary in rows:
            delta = f"({calls - base_calls:+d} calls, {units - base_units:+.1f} CU)"
            print(f"      {case:8s} {summary}  {delta if case != 'without' else ''}")
    print(
        "    (DynamoDB Local reports no units for a refused conditional write; DynamoDB charges"
        "\n    it as a write of the larger of the two items: a retry costs 1 unit per KB of the"
        "\n    kept record, a few hundred bytes plus the compressed response)"
    )


def run() -> list[Section]:
    bench_dynamodb_calls()
    return []
