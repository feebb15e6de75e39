"""Requests per second and latency through the local stack's front door, against a baseline.

The local stack (`make dev`'s, on DynamoDB Local) serves Waymark's functions; a second front
door, built from the same server code (infra/local/server.py: HTTP parsing, the proxy event,
the real authorizer, rate limits, worker processes), serves only the baseline function
(bench/baseline.py: a bare Powertools resolver doing one GetItem). The load comes from another
process (bench/load.py): closed-loop clients, each on its own keep-alive connection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.load import SEED_USERS
from bench.measure import Cell, overhead_rows
from bench.report import Section, load_note, plot, table

CONCURRENCY = (1, 8, 32)
OPERATIONS = ("user upsert", "user get", "list page", "event")
BASELINE = "baseline get"
SECONDS = float(os.environ.get("BENCH_THROUGHPUT_SECONDS", "4"))
WARM_SECONDS = 3.0  # at the highest concurrency, so every worker process is started first
WORKERS = 4  # per function: the local stack's default (DEFAULT_MAX_WORKERS)


def load(url: str, api_key: str, operation: str, clients: int, seconds: float) -> Cell:
    spec = {
        "url": url,
        "api_key": api_key,
        "operation": operation,
        "clients": clients,
        "seconds": seconds,
    }
    # The child inherits this environment (POWERTOOLS_METRICS_DISABLED among it).
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", json.dumps(spec)],
        capture_output=True,
        check=True,
        env=os.environ.copy(),
    )
    result = json.loads(done.stdout)
    return Cell(
        operation=operation,
        clients=clients,
        seconds=result["seconds"],
        latencies=tuple(result["latencies"]),
        errors=result["errors"],
    )


def measure() -> tuple[list[Cell], dict[str, Any]]:
    from bench.baseline import ROUTE
    from infra.local.dev import LocalStack
    from infra.local.server import LocalApi
    from shared.domain.rate_limits import MAX_BURST, MAX_RATE, RateLimits
    from shared.store import tenancy
    from tests.integration.conftest import ApiClient

    worker_log = open(os.devnull, "wb")  # noqa: SIM115 (closed below)
    stack = LocalStack(
        port=0,
        table_name="waymark-bench-throughput",
        max_workers=WORKERS,
        worker_output=worker_log,
    )
    baseline = LocalApi(port=0, functions=(ROUTE,), max_workers=WORKERS, worker_output=worker_log)
    cells: list[Cell] = []
    facts: dict[str, Any] = {}
    try:
        stack.start()
        baseline.start()
        environment = tenancy.create_environment("Throughput")
        # The limits as high as API Gateway allows: the benchmark measures the functions.
        tenancy.set_rate_limits(environment.id, RateLimits(MAX_RATE, MAX_BURST))
        _, key = tenancy.create_api_key(environment.id)
        api = ApiClient(stack.url, key, environment.id)
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(
                pool.map(
                    lambda n: (
                        api.request(
                            "POST", "/users", json={"id": f"seed-{n}", "attributes": {"n": n}}
                        ).status
                    ),
                    range(SEED_USERS),
                )
            )
        assert set(answers) == {200}, answers
        started = time.perf_counter()
        operations = (BASELINE, *OPERATIONS)
        urls = {op: baseline.url if op == BASELINE else stack.url for op in operations}
        for operation in operations:
            load(urls[operation], key, operation, max(CONCURRENCY), WARM_SECONDS)
        # Each concurrency's cells one after another, the baseline's first: what is compared
        # was measured seconds apart (DynamoDB Local's JVM keeps warming up).
        for clients in CONCURRENCY:
            for operation in operations:
                cells.append(load(urls[operation], key, operation, clients, SECONDS))
        facts["measured_seconds"] = time.perf_counter() - started
    finally:
        baseline.stop()
        stack.stop()
        worker_log.close()
    return cells, facts


def run() -> list[Section]:
    started = time.perf_counter()
    cells, _ = measure()
    by_operation: dict[str, list[Cell]] = {}
    for cell in cells:
        by_operation.setdefault(cell.operation, []).append(cell)
    order = (*OPERATIONS, BASELINE)
    rows = [
        (
            cell.operation,
            cell.clients,
            cell.requests,
            cell.errors,
            cell.rps,
            cell.p50_ms,
            cell.p99_ms,
        )
        for operation in order
        for cell in by_operation[operation]
    ]
    ratios = sorted(
        overhead_rows(cells, BASELINE), key=lambda row: (OPERATIONS.index(row[0]), row[1])
    )
    figures = [
        plot(
            "throughput-rps",
            "Requests per second through the local front door",
            "concurrent clients",
            "requests per second",
            {
                op: ([c.clients for c in by_operation[op]], [c.rps for c in by_operation[op]])
                for op in order
            },
            log_x=True,
        ),
        plot(
            "throughput-latency",
            "Latency through the local front door: p50 and p99",
            "concurrent clients",
            "milliseconds",
            {
                **{
                    f"{op} p50": (
                        [c.clients for c in by_operation[op]],
                        [c.p50_ms for c in by_operation[op]],
                    )
                    for op in order
                },
                **{
                    f"{op} p99": (
                        [c.clients for c in by_operation[op]],
                        [c.p99_ms for c in by_operation[op]],
                    )
                    for op in order
                },
            },
            log_x=True,
            log_y=True,
        ),
    ]
    by_cell = {(c.operation, c.clients): c for c in cells}
    worst = max(ratios, key=lambda row: row[3])
    get_ratios = [row[3] for row in ratios if row[0] == "user get"]
    best_rps = max(cells, key=lambda c: c.rps)
    findings = (
        f"**Findings.** The whole section took {time.perf_counter() - started:.0f} s. "
        f"The most any cell served was {best_rps.rps:,.0f} requests/s "
        f"({best_rps.operation}, {best_rps.clients} clients): on 2 cores the front door, the "
        "authorizer, DynamoDB Local and the load generator share the machine, so these are "
        "ceilings of this set-up, not of Lambda. "
        f"The largest p50 overhead is {worst[0]} at {worst[1]} client(s), {worst[3]:.1f}x the "
        "baseline's; "
        f"a user get, which does the baseline's one GetItem plus Waymark's conventions, runs at "
        f"{by_cell[('user get', 1)].p50_ms:.1f} ms p50 alone against the baseline's "
        f"{by_cell[(BASELINE, 1)].p50_ms:.1f} ms, and its p50 is {min(get_ratios):.2f}x to "
        f"{max(get_ratios):.2f}x the baseline's across {CONCURRENCY[0]} to {CONCURRENCY[-1]} "
        "clients: that is the function's own overhead. Beyond "
        f"{WORKERS} clients per function, "
        "requests queue for a worker (the local stack runs at most "
        f"{WORKERS} per function, as a reserved concurrency would), so rps flattens and p50 "
        "grows with the queue. " + load_note()
    )
    method = f"""
Through the local stack's HTTP front door (`make dev`'s server on DynamoDB Local, with the
real API key checked by the authorizer on every request and the environment's rate limits
raised to API Gateway's maximum), {SECONDS:g} s per cell at 1, 8 and 32 closed-loop clients;
each client holds one keep-alive connection (`http.client`) and sends its next request when
the last one returns. The clients run in a process of their own (`bench/load.py`). For each
operation, {WARM_SECONDS:g} s at 32 clients (not counted) starts every worker process, so no
cold start is measured (every operation is warmed first, and then each concurrency's cells
run one after another, the baseline's first). Each function runs in up to {WORKERS} worker
processes, one request at a time each, as `make dev` runs them.

- **user upsert**: `POST /users` with two attributes, each client on its own 20 users
  (warm: a BatchGetItem and an UpdateItem);
- **user get**: `GET /users/:id` of one of {SEED_USERS} seeded users (one GetItem, as the
  baseline);
- **list page**: `GET /users` (the first page, 10 users: one Query);
- **event**: `POST /events` for a seeded user, one attribute (one PutItem, 3 index entries);
- **baseline get**: the **baseline**, `bench/baseline.py`: a bare Powertools
  `APIGatewayRestResolver` with one route doing one `GetItem` of a seeded user's item on the
  same table, served by a second front door built from the same server code
  (`infra.local.server.LocalApi`: the same HTTP handling, proxy event, authorizer, rate
  limits and worker processes), so only the function differs.

The overhead table divides each Waymark cell by the baseline's at the same concurrency:
rps below 1x and p50 above 1x are what Waymark's function costs over the least one can be.
Only the user get does the baseline's DynamoDB work, so its ratio is the function's own
overhead (conventions, validation, logging); the others add their DynamoDB work to it. The
authorizer (a GetItem) runs in the front door for both, on every request, where API Gateway
would cache its answer: it narrows every ratio towards 1x.
Errors are answers other than 2xx (none expected).
"""
    return [
        Section(
            title="Throughput and latency through the local front door",
            method=method,
            parts=[
                table(
                    ["operation", "clients", "requests", "errors", "rps", "p50 ms", "p99 ms"],
                    rows,
                ),
                table(
                    ["operation", "clients", "rps ÷ baseline", "p50 ÷ baseline"],
                    ratios,
                    digits=2,
                ),
                *figures,
            ],
            findings=findings,
        )
    ]
