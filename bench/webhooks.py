"""Webhook figures on the local stack (DynamoDB Local, the SQS stand-in, loopback receivers).

One stack serves the whole section, each measurement in environments of its own:

1. Latency: from sending an API write to the receiver holding its notification, p50 and p99
   over sequential writes. Locally this includes the stream and queue pollers' intervals,
   which Lambda's event source mappings replace in AWS.
2. Deliveries per second, end to end (API writes -> stream -> dispatch -> queue -> delivery
   -> receiver): one environment with 1 and with 50 subscriptions, and 10 environments at
   once, each with a subscription. Beside it, the delivery function alone, fed batches of 10.
3. Dispatch cost: DynamoDB calls of one stream batch, subscriptions in 1 and in 10
   environments.
4. Noisy neighbours: failing receivers (refused and hanging) beside healthy ones must not
   starve them; bounded in users and time.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.measure import percentile
from bench.report import Section, load_note, table
from tests.support import NO_CONTEXT

if TYPE_CHECKING:
    from infra.local.dev import LocalStack
    from tests.integration.conftest import ApiClient
    from tests.integration.receivers import Receiver

WRITES = int(os.environ.get("BENCH_WEBHOOK_WRITES", "100"))
DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "400"))
THROUGHPUT_WRITES = int(os.environ.get("BENCH_WEBHOOK_THROUGHPUT_WRITES", "300"))
FAN_OUT_WRITES = int(os.environ.get("BENCH_WEBHOOK_FAN_OUT_WRITES", "40"))
NOISY_USERS = int(os.environ.get("BENCH_NOISY_USERS", "60"))
NOISY_DEADLINE_SECONDS = 90.0
WRITERS = 8  # API clients writing at once in the throughput runs
ARRIVAL_TIMEOUT = 120.0


def _environment(stack: LocalStack, name: str) -> ApiClient:
    from shared.domain.rate_limits import MAX_BURST, MAX_RATE, RateLimits
    from shared.store import tenancy
    from tests.integration.conftest import ApiClient

    environment = tenancy.create_environment(name)
    tenancy.set_rate_limits(environment.id, RateLimits(MAX_RATE, MAX_BURST))
    _, key = tenancy.create_api_key(environment.id)
    return ApiClient(stack.url, key, environment.id)


def _subscribe(api: ApiClient, url: str, topics: Sequence[str] = ("user",)) -> str:
    created = api.request("POST", "/webhook_subscriptions", json={"url": url, "topics": topics})
    assert created.status == 200, created.json()
    return str(created.json()["id"])


def _write_users(apis: Sequence[ApiClient], count: int, prefix: str) -> float:
    """`count` user upserts from WRITERS clients, spread round-robin over `apis`; returns when
    the first was sent (monotonic)."""

    def write(n: int) -> None:
        response = apis[n % len(apis)].request("POST", "/users", json={"id": f"{prefix}-{n}"})
        assert response.status == 200, response.json()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write, range(count)))
    return started


def _wait_for_requests(receivers: Sequence[Receiver], due: int, timeout: float) -> float:
    """Waits until the receivers hold `due` requests; returns when the last one came."""
    deadline = time.monotonic() + timeout
    while sum(len(r.received) for r in receivers) < due:
        if time.monotonic() > deadline:
            got = sum(len(r.received) for r in receivers)
            raise AssertionError(f"only {got} of {due} notifications arrived in {timeout:.0f} s")
        time.sleep(0.05)
    return max(request.at for r in receivers for request in r.received)


# --- 1. latency -------------------------------------------------------------------------------


def latency(stack: LocalStack, receiver: Receiver) -> list[float]:
    """Seconds from sending each of WRITES sequential user upserts to its notification's
    arrival."""
    from tests.integration.receivers import Received

    api = _environment(stack, "Latency")
    _subscribe(api, receiver.url)

    def arrival_of(user_id: str) -> float:
        def is_it(request: Received) -> bool:
            return bool(request.json()["data"]["object"]["id"] == user_id)

        got = receiver.wait_for(lambda received: any(is_it(r) for r in received))
        return next(r.at for r in got if is_it(r))

    latencies = []
    for i in range(WRITES):
        sent = time.monotonic()
        assert api.request("POST", "/users", json={"id": f"latency-{i}"}).status == 200
        latencies.append(arrival_of(f"latency-{i}") - sent)
    return latencies


# --- 2. deliveries per second -----------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """One end-to-end throughput run."""

    label: str
    environments: int
    subscriptions: int  # per environment
    writes: int
    deliveries: int
    write_seconds: float  # from the first write sent to the last write answered
    seconds: float  # from the first write sent to the last delivery received

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds


def flow(
    stack: LocalStack, label: str, *, environments: int, subscriptions: int, writes: int
) -> Flow:
    """`writes` user upserts spread over `environments` environments, each with
    `subscriptions` subscriptions to one loopback receiver: every delivery is one request."""
    from tests.integration.receivers import Receiver

    receiver = Receiver().start()
    try:
        apis = [_environment(stack, f"{label} {i}") for i in range(environments)]
        for api in apis:
            for number in range(subscriptions):
                _subscribe(api, f"{receiver.url}/{number}")
        prefix = label.replace(" ", "-")
        started = _write_users(apis, writes, prefix)
        written = time.monotonic()
        due = writes * subscriptions
        last = _wait_for_requests([receiver], due, ARRIVAL_TIMEOUT)
        assert len(receiver.received) == due, "a healthy receiver got a notification twice"
        return Flow(
            label, environments, subscriptions, writes, due, written - started, last - started
        )
    finally:
        receiver.stop()


def function_rate(environment_id: str, url: str, subscription_count: int) -> float:
    """Deliveries per second of the delivery function alone, fed DELIVERIES messages in
    batches of 10 (no queue, no stream), spread over `subscription_count` subscriptions."""
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
        result = lambda_handler({"Records": records[start : start + 10]}, NO_CONTEXT)
        assert result == {"batchItemFailures": []}, result
    return len(records) / (time.perf_counter() - started)


# --- 3. dispatch cost -------------------------------------------------------------------------


def dispatch_cost(url: str) -> list[tuple[int, int, float, str, float]]:
    """(environments, calls, capacity units, calls by name, ms) of one dispatch batch of 100
    new users whose subscriptions (2 per environment) are spread over 1 and 10 environments:
    one strongly consistent Query per environment per batch."""
    from bench.dynamo_work import CallMeter
    from functions.webhook_dispatch.handler import lambda_handler
    from shared.store import dynamo, keys, subscriptions, tenancy

    meter = CallMeter(dynamo.client(), this_thread_only=True)
    rows = []
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
        assert lambda_handler({"Records": records}, NO_CONTEXT) == {"batchItemFailures": []}
        elapsed = (time.perf_counter() - started) * 1000
        by_name: dict[str, int] = {}
        for name in meter.calls:
            by_name[name] = by_name.get(name, 0) + 1
        detail = ", ".join(f"{n} x {name}" for name, n in by_name.items())
        rows.append((environments, len(meter.calls), meter.capacity, detail, elapsed))
    return rows


# --- 4. noisy neighbours: failing receivers beside healthy ones -------------------------------

SCENARIO_CLIENTS = 16


@dataclass(frozen=True)
class ScenarioResult:
    label: str
    due: int  # notifications due to the healthy receivers
    delivered: int  # of them, arrived before the deadline (first arrival of each)
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


def noisy_scenario(stack: LocalStack, label: str, users: int, broken: bool) -> ScenarioResult:
    """Two environments: the first has two healthy receivers, the second one. With `broken`,
    each also gets a receiver refusing every connection and one hanging past the sender's 15 s
    cut. 16 clients write `users` users per environment: an upsert, a second upsert for half
    of them, and one event each. Waits at most NOISY_DEADLINE_SECONDS for the healthy
    receivers."""
    from tests.integration.receivers import Receiver

    def hang(n: int) -> int:
        time.sleep(16)  # past the sender's 15 s cut
        return 200

    started: list[Receiver] = []

    def receiver(behaviour: Callable[[int], int] | None = None) -> Receiver:
        started.append(Receiver(behaviour=behaviour) if behaviour else Receiver())
        return started[-1].start()

    try:
        apis = [_environment(stack, f"{label} {name}") for name in ("first", "second")]
        healthy = {0: [receiver(), receiver()], 1: [receiver()]}
        urls: dict[int, list[str]] = {i: [r.url for r in healthy[i]] for i in healthy}
        if broken:
            for i in urls:
                urls[i] += [_closed_port_url(), receiver(hang).url]
        for i, api in enumerate(apis):
            for url in urls[i]:
                _subscribe(api, url, topics=["*"])

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
        deadline = started_at + NOISY_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if sum(len(r.ids()) for rs in healthy.values() for r in rs) >= due:
                break
            time.sleep(0.2)
        latencies, last = [], started_at
        for env, receivers in healthy.items():
            for r in receivers:
                seen: set[str] = set()
                for request in list(r.received):
                    notification = request.json()
                    if notification["id"] in seen:
                        continue  # a retry: the first arrival counts
                    seen.add(notification["id"])
                    obj = notification["data"]["object"]
                    user = obj.get("user_id") or obj["id"]
                    latencies.append(request.at - sent[(env, notification["topic"], user)])
                    last = max(last, request.at)
    finally:
        for r in started:
            r.stop()
    return ScenarioResult(
        label=label,
        due=due,
        delivered=len(latencies),
        seconds=last - started_at,
        p50=percentile(latencies, 0.5) if latencies else float("nan"),
        p99=percentile(latencies, 0.99) if latencies else float("nan"),
    )


# --- the section ------------------------------------------------------------------------------


def run() -> list[Section]:
    from infra.local.dev import LocalStack
    from tests.integration.receivers import Receiver

    started = time.perf_counter()
    receiver = Receiver().start()
    worker_log = open(os.devnull, "wb")  # noqa: SIM115 (closed below)
    timings: dict[str, float] = {}

    def timed(name: str, began: float) -> None:
        timings[name] = time.perf_counter() - began

    try:
        with LocalStack(
            port=0, table_name="waymark-bench-webhooks", worker_output=worker_log
        ) as stack:
            began = time.perf_counter()
            latencies = latency(stack, receiver)
            timed("latency", began)

            began = time.perf_counter()
            flows = [
                flow(
                    stack,
                    "1 subscription",
                    environments=1,
                    subscriptions=1,
                    writes=THROUGHPUT_WRITES,
                ),
                flow(
                    stack,
                    "50 subscriptions",
                    environments=1,
                    subscriptions=50,
                    writes=FAN_OUT_WRITES,
                ),
                flow(
                    stack,
                    "10 environments",
                    environments=10,
                    subscriptions=1,
                    writes=THROUGHPUT_WRITES,
                ),
            ]
            timed("flows", began)

            began = time.perf_counter()
            alone = _environment(stack, "Delivery function").environment
            function_rates = {n: function_rate(alone, receiver.url, n) for n in (1, 50)}
            timed("function", began)

            began = time.perf_counter()
            dispatch_rows = dispatch_cost(receiver.url)
            timed("dispatch", began)

            began = time.perf_counter()
            scenarios = [
                noisy_scenario(stack, "healthy only", NOISY_USERS, broken=False),
                noisy_scenario(
                    stack, "+ refusing and hanging (each env)", NOISY_USERS, broken=True
                ),
            ]
            timed("noisy", began)
    finally:
        receiver.stop()
        worker_log.close()
    return [
        _section(
            latencies,
            flows,
            function_rates,
            dispatch_rows,
            scenarios,
            timings,
            time.perf_counter() - started,
        )
    ]


def _compared(rate: float, reference: float) -> str:
    """How one rate compares with another, in words (within 20% is "about the same as")."""
    if rate < 0.8 * reference:
        return "slower than"
    if rate > 1.2 * reference:
        return "faster than"
    return "about the same as"


def _section(
    latencies: list[float],
    flows: list[Flow],
    function_rates: dict[int, float],
    dispatch_rows: list[tuple[int, int, float, str, float]],
    scenarios: list[ScenarioResult],
    timings: dict[str, float],
    total: float,
) -> Section:
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    single, fan_out, spread = flows
    healthy, noisy = scenarios
    method = f"""
On the local stack (DynamoDB Local; the stream poller every 0.1 s and the queue's 32 pollers
stand in for Lambda's event source mappings; receivers are loopback HTTP servers in the same
process), one stack for the whole section, each run in environments of its own.

- **Latency**: {WRITES} sequential user upserts, each timed from sending the request to its
  notification's arrival at the receiver (one subscription).
- **Deliveries per second, end to end**: user upserts from {WRITERS} API clients at once
  (API -> table -> stream -> dispatch -> queue -> delivery -> receiver); the rate is the
  deliveries over the time from the first write to the last arrival. 1 subscription
  ({THROUGHPUT_WRITES} writes), 50 subscriptions in one environment ({FAN_OUT_WRITES} writes,
  each delivered 50 times), and 10 environments with a subscription each, the same
  {THROUGHPUT_WRITES} writes spread over them. Beside it, the delivery function alone, fed
  {DELIVERIES} messages in batches of 10 by a loop (no queue, no stream).
- **Dispatch cost**: one stream batch of 100 new users handed to the dispatch function, the
  subscriptions (2 each) in 1 and in 10 environments: DynamoDB calls counted on the client.
- **Noisy neighbours**: two environments (2 healthy receivers in the first, 1 in the second);
  {SCENARIO_CLIENTS} clients write {NOISY_USERS} users per environment (an upsert, a second
  upsert for half, an event each; every topic subscribed). Then the same with, in each
  environment, a receiver refusing every connection and one hanging past the sender's 15 s
  cut. Only the healthy receivers are counted (first arrival of each notification), waiting
  at most {NOISY_DEADLINE_SECONDS:.0f} s.
"""
    parts = [
        table(["writes", "p50 ms", "p99 ms"], [(len(latencies), p50, p99)]),
        table(
            [
                "run",
                "environments",
                "subscriptions each",
                "writes",
                "deliveries",
                "writes took s",
                "last arrival s",
                "deliveries/s",
            ],
            [
                (
                    f.label,
                    f.environments,
                    f.subscriptions,
                    f.writes,
                    f.deliveries,
                    f.write_seconds,
                    f.seconds,
                    f.rate,
                )
                for f in flows
            ],
        ),
        table(
            ["delivery function alone", "deliveries/s"],
            [
                (f"{n} subscription{'s' if n > 1 else ''}", rate)
                for n, rate in function_rates.items()
            ],
        ),
        table(
            [
                "dispatch batch of 100, environments",
                "DynamoDB calls",
                "capacity units",
                "calls",
                "ms",
            ],
            dispatch_rows,
        ),
        table(
            ["run", "users per env", "arrived / due", "deliveries/s", "p50 ms", "p99 ms"],
            [
                (
                    s.label,
                    NOISY_USERS,
                    f"{s.delivered} / {s.due}",
                    s.rate,
                    s.p50 * 1000,
                    s.p99 * 1000,
                )
                for s in scenarios
            ],
            digits=0,
        ),
    ]
    starved = noisy.delivered < noisy.due
    (_, _, _, one_detail, one_ms), (_, _, _, ten_detail, ten_ms) = dispatch_rows
    findings = (
        f"**Findings.** The section took {total:.0f} s (latency {timings['latency']:.0f} s, "
        f"end-to-end runs {timings['flows']:.0f} s, function alone {timings['function']:.0f} s, "
        f"dispatch {timings['dispatch']:.0f} s, noisy neighbours {timings['noisy']:.0f} s). "
        f"A write reaches its receiver in {p50:.0f} ms at the median and {p99:.0f} ms at p99, "
        "local pollers' intervals included. "
        f"With one subscription, {single.rate:,.0f} deliveries/s while the {WRITERS} writers "
        f"got {single.writes / single.write_seconds:,.0f} upserts/s through the API; the last "
        f"notification arrived {single.seconds - single.write_seconds:.1f} s after the last "
        "write was answered. "
        f"With 50 subscriptions each write fans out to 50 deliveries: {fan_out.rate:,.0f}/s end "
        f"to end, against the delivery function's own {function_rates[50]:,.0f}/s alone with 50 "
        f"subscriptions ({function_rates[1]:,.0f}/s with 1). "
        f"The same writes spread over 10 environments were delivered at {spread.rate:,.0f}/s, "
        f"{_compared(spread.rate, single.rate)} one environment's {single.rate:,.0f}/s; dispatch "
        f"adds one Query per environment per batch ({one_detail} vs {ten_detail}, "
        f"{one_ms:,.0f} vs {ten_ms:,.0f} ms for a batch of 100). "
        "Locally the front door, the authorizer, the pollers, the dispatch and delivery "
        "functions and the receivers share one Python process (only the API functions have "
        "worker processes), so these rates are the local stack's, not Lambda's. "
        + (
            f"With dead receivers beside them, the healthy receivers got only "
            f"{noisy.delivered} of {noisy.due} notifications within "
            f"{NOISY_DEADLINE_SECONDS:.0f} s: the dead ones starved them. "
            if starved
            else "With a refusing and a hanging receiver in each environment, the healthy "
            "receivers still got every notification: dead receivers did not starve them "
            f"(rate {noisy.rate / healthy.rate:.2f}x, p50 {noisy.p50 / healthy.p50:.2f}x and p99 "
            f"{noisy.p99 / healthy.p99:.2f}x the healthy-only run's). "
        )
        + load_note()
    )
    return Section(
        title="Webhooks on the local stack",
        method=method,
        parts=parts,
        findings=findings,
    )
