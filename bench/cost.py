"""Cost per million requests of the README's mix, from what this run measures (DynamoDB
capacity per operation, warm handler time in process) and AWS's list prices, with API
Gateway's REST API (what the stack deploys) beside an HTTP API."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.report import Section, table

MILLION = 1_000_000
REPEATS = 30

# us-east-1 list prices, on-demand, as of the dates given (check the pricing pages before
# relying on them): name -> (price in dollars, per what, as of, source).
PRICES: dict[str, tuple[float, str, str, str]] = {
    "api_rest": (
        3.50,
        "million requests (first 333M)",
        "2025",
        "aws.amazon.com/api-gateway/pricing",
    ),
    "api_http": (
        1.00,
        "million requests (first 300M)",
        "2025",
        "aws.amazon.com/api-gateway/pricing",
    ),
    "lambda_requests": (0.20, "million requests", "2025", "aws.amazon.com/lambda/pricing"),
    "lambda_gb_second": (0.0000133334, "GB-second, arm64", "2025", "aws.amazon.com/lambda/pricing"),
    "dynamodb_write": (
        0.625,
        "million write request units, on-demand",
        "Nov 2024 price cut",
        "aws.amazon.com/dynamodb/pricing/on-demand",
    ),
    "dynamodb_read": (
        0.125,
        "million read request units, on-demand",
        "Nov 2024 price cut",
        "aws.amazon.com/dynamodb/pricing/on-demand",
    ),
    "stream_reads": (
        0.0,
        "GetRecords by a Lambda trigger (free; 2.5M a month free otherwise, then $0.02/100k)",
        "2025",
        "aws.amazon.com/dynamodb/pricing/on-demand",
    ),
    "sqs": (
        0.40,
        "million requests (standard; each 64 KB chunk of a request counts)",
        "2025",
        "aws.amazon.com/sqs/pricing",
    ),
}

# The README's mix (## Cost): share of requests, and the request that stands for it.
MIX: dict[str, float] = {
    "user upsert (existing user, set + add)": 0.40,
    "event (a user, 3 attributes)": 0.30,
    "user get": 0.20,
    "user list page (limit 10)": 0.10,
}
# Writes of the mix that notify webhook subscribers (one subscription on every topic).
NOTIFYING = ("user upsert (existing user, set + add)", "event (a user, 3 attributes)")
SQS_CHUNK_BYTES = 64 * 1024
SQS_BATCH = 10
NOTIFICATION_BYTES = 1_500  # a user or event notification with its envelope, as queued
# The authorizer's answers are cached 300 s per key: a few thousand calls a million requests.
AUTHORIZER_CALLS = 3_000


@dataclass(frozen=True)
class Operation:
    name: str
    read_units: float
    write_units: float
    milliseconds: float  # median warm handler time in process


def price(name: str) -> float:
    return PRICES[name][0]


def per_million(quantity: float, dollars_per_million: float) -> float:
    return quantity / MILLION * dollars_per_million


def lambda_gb_seconds(invocations: float, milliseconds: float, memory_mb: int) -> float:
    """Billed GB-seconds: each invocation's duration rounded up to the millisecond."""
    return invocations * math.ceil(milliseconds) / 1000 * memory_mb / 1024


def sqs_requests(messages: int, message_bytes: int, *, batch: int = SQS_BATCH) -> int:
    """Send, receive and delete requests for `messages`, `batch` a request; a request is
    billed once per 64 KB chunk of its payload (deletes carry only receipt handles)."""
    batches = math.ceil(messages / batch)
    chunks = math.ceil(min(batch, messages) * message_bytes / SQS_CHUNK_BYTES) if messages else 0
    return batches * chunks * 2 + batches  # send and receive by size; delete one each


@dataclass(frozen=True)
class Line:
    component: str
    quantity: str
    rest: float
    http: float


def cost_lines(
    operations: dict[str, Operation], memory_mb: int, requests: int = MILLION
) -> list[Line]:
    """Per `requests` of MIX: each component's dollars behind a REST API and an HTTP API."""
    counts = {name: requests * share for name, share in MIX.items()}
    write_units = sum(counts[n] * operations[n].write_units for n in MIX)
    read_units = sum(counts[n] * operations[n].read_units for n in MIX)
    gb_seconds = sum(
        lambda_gb_seconds(counts[n], operations[n].milliseconds, memory_mb) for n in MIX
    )
    invocations = requests + AUTHORIZER_CALLS
    notifications = int(sum(counts[n] for n in NOTIFYING))
    queue_requests = sqs_requests(notifications, NOTIFICATION_BYTES)
    lines = [
        Line(
            "API Gateway requests",
            f"{requests:,}",
            per_million(requests, price("api_rest")),
            per_million(requests, price("api_http")),
        ),
        Line(
            "Lambda requests (API functions + cached authorizer)",
            f"{invocations:,}",
            per_million(invocations, price("lambda_requests")),
            per_million(invocations, price("lambda_requests")),
        ),
        Line(
            f"Lambda duration ({memory_mb} MB arm64, measured warm handler time)",
            f"{gb_seconds:,.0f} GB-s",
            gb_seconds * price("lambda_gb_second"),
            gb_seconds * price("lambda_gb_second"),
        ),
        Line(
            "DynamoDB writes (measured WCU, index entries included)",
            f"{write_units:,.0f} WRU",
            per_million(write_units, price("dynamodb_write")),
            per_million(write_units, price("dynamodb_write")),
        ),
        Line(
            "DynamoDB reads (measured RCU)",
            f"{read_units:,.0f} RRU",
            per_million(read_units, price("dynamodb_read")),
            per_million(read_units, price("dynamodb_read")),
        ),
        Line("DynamoDB Streams reads (Lambda triggers)", f"{notifications:,} records", 0.0, 0.0),
        Line(
            "SQS for webhook fan-out (one subscription on every topic)",
            f"{queue_requests:,} requests",
            per_million(queue_requests, price("sqs")),
            per_million(queue_requests, price("sqs")),
        ),
    ]
    return lines


def total(lines: list[Line]) -> tuple[float, float]:
    return sum(line.rest for line in lines), sum(line.http for line in lines)


def configured_memory_mb() -> int:
    """The API functions' memory: FunctionSettings' default (no API function overrides it)."""
    import dataclasses
    import os

    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from infra.constructs.python_function import FunctionSettings

    field = next(f for f in dataclasses.fields(FunctionSettings) if f.name == "memory_size")
    memory: int = field.default  # type: ignore[assignment]
    return memory


def measure_operations() -> tuple[dict[str, Operation], str]:
    from bench.local_api import local_api

    with local_api() as api:
        env = api.environment("Cost")
        env.call(
            "users", "POST", "/users", {"id": "reader", "attributes": {"plan": "pro", "logins": 1}}
        )
        for i in range(20):
            env.call("users", "POST", "/users", {"id": f"listed{i}", "attributes": {"plan": "x"}})
        attributes = {"size": 3, "color": "red", "plan": "pro"}
        requests: dict[str, Callable[[int], Any]] = {
            "user upsert (existing user, set + add)": lambda i: env.call(
                "users",
                "POST",
                "/users",
                {"id": "reader", "attributes": {"plan": f"p{i}", "logins": {"add": 1}}},
            ),
            "event (a user, 3 attributes)": lambda i: env.call(
                "events",
                "POST",
                "/events",
                {"user_id": "reader", "name": "clicked", "attributes": attributes},
            ),
            "user get": lambda i: env.call("users", "GET", "/users/reader"),
            "user list page (limit 10)": lambda i: env.call("users", "GET", "/users?limit=10"),
        }
        operations = {}
        for name, request in requests.items():
            request(-1)  # warm: definitions written, code paths loaded
            api.meter.clear()
            seconds = []
            for i in range(REPEATS):
                started = time.perf_counter()
                request(i)
                seconds.append(time.perf_counter() - started)
            work = api.meter.work()
            operations[name] = Operation(
                name,
                work.read_units / REPEATS,
                work.write_units / REPEATS,
                statistics.median(seconds) * 1000,
            )
        return operations, api.engine


def run() -> list[Section]:
    operations, engine = measure_operations()
    memory = configured_memory_mb()
    lines = cost_lines(operations, memory)
    rest, http = total(lines)
    prices = table(
        ["what", "price (us-east-1)", "per", "as of", "source"],
        [
            (name, "$" + f"{value:,.10f}".rstrip("0").rstrip("."), per, when, source)
            for name, (value, per, when, source) in PRICES.items()
        ],
    )
    measured = table(
        ["operation", "share of requests", "RCU", "WCU", "warm handler ms (median)"],
        [
            (o.name, f"{MIX[o.name]:.0%}", o.read_units, o.write_units, o.milliseconds)
            for o in operations.values()
        ],
        digits=2,
    )
    components = table(
        ["component", "quantity per million requests", "REST API $", "HTTP API $"],
        [(line.component, line.quantity, line.rest, line.http) for line in lines]
        + [("**total per million requests**", "", rest, http)],
        digits=3,
    )
    method = f"""
The README's mix (## Cost): {", ".join(f"{share:.0%} {name}" for name, share in MIX.items())}.
Each operation was called {REPEATS} times warm, in process against {engine}, with the DynamoDB
call meter of the section above (capacity units per request, transactions by DynamoDB's
rules) and the handler's wall time; that time is a local proxy for Lambda's billed duration
(the handler's own work plus DynamoDB Local's answers on the same 2 cores; Lambda bills it
rounded up to the millisecond, at the configured {memory} MB on arm64, read from
`infra/constructs/python_function.FunctionSettings`: no API function overrides it). Webhook
fan-out assumes one subscription on every topic: every upsert and event is a notification of
~{NOTIFICATION_BYTES:,} bytes, queued and received in batches of {SQS_BATCH} (SQS bills each
64 KB chunk of a request), read from the table's stream by a Lambda trigger (free). Not
included: CloudWatch Logs, data transfer, the webhook dispatch and delivery functions'
duration and delivery log (README: about $2 a million notifications), fixed monthly costs.
"""
    findings = f"""
Behind the REST API the mix costs **${rest:.2f}** a million requests; behind an HTTP API
**${http:.2f}** ({(rest - http) / rest:.0%} less): API Gateway is
{lines[0].rest / rest:.0%} of the REST total, DynamoDB {(lines[3].rest + lines[4].rest) / rest:.0%}.
The HTTP API would lose what the stack uses the REST API for: usage plans and API keys (each
environment's rate limit, burst and daily quota are a usage plan: HTTP APIs have only
stage-wide throttling), and the per-method request validation and access-log fields the
REST API gives; its Lambda authorizer caching and payload format differ too (payload format
2.0), so the handlers' event parsing and the authorizer would change with it.
"""
    return [
        Section(
            "Cost per million requests",
            method,
            [
                "Prices:",
                prices,
                "Measured per request:",
                measured,
                "Per million requests:",
                components,
            ],
            findings,
        )
    ]
