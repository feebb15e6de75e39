"""Webhook figures on the local stack (DynamoDB Local, moto SQS, a loopback receiver).

1. End-to-end latency: from sending an API write to the receiver holding the notification,
   p50 and p99 over sequential writes. Locally this includes the stream and queue pollers'
   intervals (0.1 s and 0.05 s), which Lambda's event source mappings replace in AWS.
2. Delivery throughput: the delivery function fed batches of 10 messages directly (no
   queue), for one subscription and for many, in deliveries per second.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.report import Section

WRITES = int(os.environ.get("BENCH_WEBHOOK_WRITES", "100"))
DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "400"))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_webhooks() -> None:
    from infra.local.dev import LocalStack
    from shared.store import tenancy
    from tests.integration.conftest import ApiClient
    from tests.integration.receivers import Received, Receiver

    receiver = Receiver().start()
    with LocalStack(port=0, table_name="waymark-bench-webhooks") as stack:
        environment = tenancy.create_environment("Bench")
        _, key = tenancy.create_api_key(environment.id)
        api = ApiClient(stack.url, key, environment.id)
        api.request(
            "POST", "/webhook_subscriptions", json={"url": receiver.url, "topics": ["user"]}
        )

        def arrival_of(user_id: str) -> float:
            def is_it(request: Received) -> bool:
                return bool(request.json()["data"]["object"]["id"] == user_id)

            got = receiver.wait_for(lambda received: any(is_it(r) for r in received))
            return next(r.at for r in got if is_it(r))

        latencies = []
        for i in range(WRITES):
            sent = time.monotonic()
            api.request("POST", "/users", json={"id": f"latency-{i}"})
            latencies.append(arrival_of(f"latency-{i}") - sent)
        print(f"webhooks, API write -> receiver (local stack, {WRITES} sequential writes):")
        print(f"  p50 {statistics.median(latencies) * 1000:7.1f} ms")
        print(f"  p99 {_percentile(latencies, 0.99) * 1000:7.1f} ms")

        for subscriptions in (1, 20):
            rate = _delivery_rate(environment.id, receiver.url, subscriptions)
            print(
                f"  delivery function, {subscriptions:2d} subscription(s): "
                f"{rate:7.1f} deliveries/s ({DELIVERIES} messages, batches of 10)"
            )
        _dispatch_cost(receiver.url)
    receiver.stop()


def _dispatch_cost(url: str) -> None:
    """DynamoDB calls and capacity of one dispatch batch (100 new users), with their
    subscriptions spread over 1 and over 10 environments. Before: a 10 s cache per warm
    container, so 0 reads for most batches and 1 Query per environment every 10 s; now 1
    strongly consistent Query per environment per batch."""
    from bench.__main__ import CallMeter
    from functions.webhook_dispatch.handler import lambda_handler
    from shared.store import dynamo, keys, subscriptions, tenancy

    meter = CallMeter(dynamo.client(), this_thread_only=True)
    print("  dispatch, one batch of 100 new users (2 subscriptions per environment):")
    for environments in (1, 10):
        ids = [tenancy.create_environment(f"Dispatch {i}").id for i in range(environments)]
        for environment_id in ids:
            for _ in range(2):
                subscriptions.create(
                    environment_id, api_version="2020-01-03", topics=["user"], url=url
                )
        records = []
        for n in range(100):
            item = {
                **keys.user(ids[n % environments], f"dispatch-{n}"),
                "id": f"dispatch-{n}",
                "created_at": "2026-11-29T00:00:00.000+00:00",
            }
            records.append(
                {
                    "eventID": f"bench-{environments}-{n}",
                    "eventName": "INSERT",
                    "eventSource": "aws:dynamodb",
                    "dynamodb": {
                        "Keys": dynamo.to_item({"PK": item["PK"], "SK": item["SK"]}),
                        "NewImage": dynamo.to_item(item),
                        "SequenceNumber": str(n),
                        "ApproximateCreationDateTime": time.time(),
                    },
                }
            )
        meter.clear()
        started = time.perf_counter()
        assert lambda_handler({"Records": records}, None) == {"batchItemFailures": []}
        elapsed = (time.perf_counter() - started) * 1000
        print(
            f"    {environments:2d} environment(s): {meter.summary()}, {elapsed:6.0f} ms "
            f"(before: 0 calls when cached)"
        )


def _delivery_rate(environment_id: str, url: str, subscription_count: int) -> float:
    from functions.webhook_delivery.handler import lambda_handler
    from shared.store import subscriptions
    from shared.webhooks.messages import DeliveryMessage, delivery_id_for

    subscription_ids = [
        subscriptions.create(environment_id, api_version="2020-01-03", topics=["user"], url=url).id
        for _ in range(subscription_count)
    ]

    def record(i: int) -> dict[str, Any]:
        subscription_id = subscription_ids[i % subscription_count]
        notification_id = f"bench-{subscription_count}-{i}"
        body = json.dumps({"id": notification_id, "object": "webhook_notification"})
        message = DeliveryMessage(
            environment_id=environment_id,
            subscription_id=subscription_id,
            delivery_id=delivery_id_for(notification_id, subscription_id),
            notification_id=notification_id,
            topic="user.created",
            body=body,
            created_at="2026-11-25T00:00:00.000+00:00",
            window_started_at=time.time(),
        )
        return {
            "messageId": notification_id,
            "receiptHandle": notification_id,
            "body": message.to_json(),
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs",
        }

    records = [record(i) for i in range(DELIVERIES)]
    started = time.perf_counter()
    for start in range(0, len(records), 10):
        result = lambda_handler({"Records": records[start : start + 10]}, None)
        assert result == {"batchItemFailures": []}, result
    return len(records) / (time.perf_counter() - started)


# --- noisy neighbours: failing receivers beside healthy ones ---------------------------------

SCENARIO_CLIENTS = 16


@dataclass(frozen=True)
class ScenarioResult:
    label: str
    due: int  # notifications due to the healthy receivers
    delivered: int
    seconds: float  # from the first write to the last healthy arrival
    p50: float
    p99: float

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0


def _closed_port_url() -> str:
    """A loopback URL nothing listens on: every attempt is refused at once."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/gone"


def run_scenario(label: str, users: int, broken: str, table: str) -> ScenarioResult:
    """Two environments: the first has two healthy receivers, the second one. `broken` adds
    receivers that keep failing: "" none, "refusing" two refused URLs in the first
    environment, "hanging" one refused and one hanging receiver in each. 16 clients write
    `users` users per environment: an upsert, a second upsert changing an attribute for half
    of them, and one event each."""
    from concurrent.futures import ThreadPoolExecutor

    from infra.local.dev import LocalStack
    from shared.store import tenancy
    from tests.integration.conftest import ApiClient
    from tests.integration.receivers import Receiver

    def hang(n: int) -> int:
        time.sleep(16)  # past the sender's 15 s cut
        return 200

    started: list[Receiver] = []

    def receiver(**options: Any) -> Receiver:
        started.append(Receiver(**options).start())
        return started[-1]

    with LocalStack(port=0, table_name=table) as stack:
        apis = []
        for name in ("first", "second"):
            environment = tenancy.create_environment(name)
            _, key = tenancy.create_api_key(environment.id)
            apis.append(ApiClient(stack.url, key, environment.id))
        healthy = {0: [receiver(), receiver()], 1: [receiver()]}
        healthy_subscriptions: list[tuple[str, str]] = []
        urls: dict[int, list[str]] = {i: [r.url for r in healthy[i]] for i in healthy}
        if broken == "refusing":
            urls[0] += [_closed_port_url(), _closed_port_url()]
        elif broken == "hanging":
            for i in urls:
                urls[i] += [_closed_port_url(), receiver(behaviour=hang).url]
        for i, api in enumerate(apis):
            for url in urls[i]:
                created = api.request(
                    "POST", "/webhook_subscriptions", json={"url": url, "topics": ["*"]}
                )
                assert created.status == 200, created.json()
                if url in [r.url for r in healthy[i]]:
                    healthy_subscriptions.append((api.environment_id or "", created.json()["id"]))

        sent: dict[tuple[int, str, str], float] = {}  # (env, topic, user) -> when written

        def write(job: tuple[int, int]) -> None:
            env, n = job
            api, user = apis[env], f"user-{n}"
            steps = [("user.created", "/users", {"id": user, "attributes": {"n": 1}})]
            if n % 2 == 0:
                steps.append(("user.updated", "/users", {"id": user, "attributes": {"n": 2}}))
            steps.append(("event.tracked.bench", "/events", {"user_id": user, "name": "bench"}))
            for topic, path, body in steps:
                sent[(env, topic, user)] = time.monotonic()
                response = api.request("POST", path, json=body)
                assert response.status == 200, response.json()

        jobs = [(env, n) for n in range(users) for env in (0, 1)]
        started_at = time.monotonic()
        with ThreadPoolExecutor(max_workers=SCENARIO_CLIENTS) as pool:
            list(pool.map(write, jobs))
        per_env = len(sent) // 2
        due = per_env * (len(healthy[0]) + len(healthy[1]))
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if sum(len(r.ids()) for rs in healthy.values() for r in rs) >= due:
                break
            time.sleep(0.2)
        else:
            _explain_missing(healthy_subscriptions)
        latencies, last = [], started_at
        for env, receivers in healthy.items():
            for r in receivers:
                seen: set[str] = set()
                for request in r.received:
                    notification = request.json()
                    if notification["id"] in seen:
                        continue  # a retry: the first arrival counts
                    seen.add(notification["id"])
                    obj = notification["data"]["object"]
                    user = obj.get("user_id") or obj["id"]
                    latencies.append(request.at - sent[(env, notification["topic"], user)])
                    last = max(last, request.at)
    for r in started:
        r.stop()
    latencies.sort()
    return ScenarioResult(
        label=label,
        due=due,
        delivered=len(latencies),
        seconds=last - started_at,
        p50=_percentile(latencies, 0.5) if latencies else float("nan"),
        p99=_percentile(latencies, 0.99) if latencies else float("nan"),
    )


def _explain_missing(subscriptions: list[tuple[str, str]]) -> None:
    """Where the notifications a healthy receiver still lacks are (a run that did not finish)."""
    from shared.store import backlog, deliveries
    from shared.store import subscriptions as store

    for environment_id, subscription_id in subscriptions:
        subscription = store.get(environment_id, subscription_id)
        circuit = subscription.circuit if subscription else None
        waiting = sum(
            len(e.messages) for e in backlog.oldest(environment_id, subscription_id, limit=1000)
        )
        page = deliveries.list_page(environment_id, subscription_id, limit=100, starting_after=None)
        statuses = sorted({d.status for d in page.items})
        print(
            f"    missing: {subscription_id[:8]} circuit={circuit} backlog={waiting} "
            f"latest statuses={statuses}"
        )


def bench_noisy_neighbours() -> None:
    refusing_users = int(os.environ.get("BENCH_REFUSING_USERS", "300"))
    hanging_users = int(os.environ.get("BENCH_HANGING_USERS", "150"))
    runs = [
        ("healthy only", refusing_users, ""),
        ("+ 2 refusing (env 1)", refusing_users, "refusing"),
        ("healthy only", hanging_users, ""),
        ("+ refusing and hanging (each env)", hanging_users, "hanging"),
    ]
    print(
        "webhooks, failing receivers beside healthy ones (local stack, 2 environments, "
        f"{SCENARIO_CLIENTS} clients; healthy receivers only, first arrival of each notification):"
    )
    print(
        f"  {'run':36s} {'users':>5s} {'arrived':>11s} {'rate/s':>7s} {'p50 ms':>8s} {'p99 ms':>8s}"
    )
    results: list[ScenarioResult] = []
    for i, (label, users, broken) in enumerate(runs):
        result = run_scenario(label, users, broken, table=f"waymark-bench-noisy-{i}")
        results.append(result)
        print(
            f"  {label:36s} {users:5d} {result.delivered:5d}/{result.due:<5d} "
            f"{result.rate:7.1f} {result.p50 * 1000:8.0f} {result.p99 * 1000:8.0f}"
        )
    for baseline, noisy in ((results[0], results[1]), (results[2], results[3])):
        print(
            f"  {noisy.label}: rate {noisy.rate / baseline.rate:4.2f}x, "
            f"p99 {noisy.p99 / baseline.p99:4.2f}x the healthy-only run"
        )


def run() -> list[Section]:
    bench_webhooks()
    return []
