"""A closed-loop HTTP load generator: `clients` threads, each with its own persistent
connection (http.client, keep-alive), sending one request after another for `seconds`.

It runs in a process of its own (`python -m bench.load '<spec as JSON>'`, printing the result
as JSON), so the clients do not share a GIL with the server they measure. It imports nothing
heavy: starting it costs a few tens of milliseconds.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SEED_USERS = 200  # users seed-0 .. seed-199 exist before a run


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = None  # sent as JSON when not None


def request_for(operation: str, client: int, n: int) -> Request:
    """The n-th request of client `client` for an operation of the throughput table. Upserts
    write each client's own users (no two clients race on one item); reads spread over the
    seeded users."""
    seeded = f"seed-{(client * 37 + n) % SEED_USERS}"
    if operation == "user upsert":
        body = {"id": f"load-{client}-{n % 20}", "attributes": {"plan": "pro", "seen": n}}
        return Request("POST", "/users", body)
    if operation == "user get":
        return Request("GET", f"/users/{seeded}")
    if operation == "list page":
        return Request("GET", "/users")
    if operation == "event":
        body = {"user_id": seeded, "name": "bench_clicked", "attributes": {"n": n}}
        return Request("POST", "/events", body)
    if operation == "baseline get":
        return Request("GET", f"/baseline/{seeded}")
    raise ValueError(f"unknown operation {operation!r}")


def headers_for(api_key: str, request: Request) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Userflow-Version": "2020-01-03",
        "Accept": "application/json",
    }
    if request.body is not None:
        headers["Content-Type"] = "application/json"
    return headers


def run_load(
    url: str, api_key: str, operation: str, clients: int, seconds: float
) -> dict[str, Any]:
    """Every client connects first; then all start together and stop at the same deadline.
    Returns {"seconds": window, "latencies": [...], "errors": n, "statuses": {...}}."""
    split = urlsplit(url)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[dict[str, int]] = [{} for _ in range(clients)]
    errors = [0] * clients
    deadline = [0.0]
    began = [0.0]

    def open_window() -> None:  # run once, when every client is connected
        began[0] = time.perf_counter()
        deadline[0] = began[0] + seconds

    start = threading.Barrier(clients + 1, action=open_window)

    def client(number: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        connection.connect()
        start.wait()
        n = 0
        while time.perf_counter() < deadline[0]:
            request = request_for(operation, number, n)
            body = None if request.body is None else json.dumps(request.body).encode()
            began = time.perf_counter()
            try:
                connection.request(
                    request.method, request.path, body=body, headers=headers_for(api_key, request)
                )
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors[number] += 1
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=60)
                continue
            finally:
                n += 1
            elapsed = time.perf_counter() - began
            key = str(response.status)
            statuses[number][key] = statuses[number].get(key, 0) + 1
            if 200 <= response.status < 300:
                latencies[number].append(elapsed)
            else:
                errors[number] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join()
    # The window ends when the last request in flight at the deadline comes back.
    window = time.perf_counter() - began[0]
    merged: dict[str, int] = {}
    for counts in statuses:
        for key, count in counts.items():
            merged[key] = merged.get(key, 0) + count
    return {
        "seconds": window,
        "latencies": [value for values in latencies for value in values],
        "errors": sum(errors),
        "statuses": merged,
    }


def main(argv: list[str]) -> None:
    spec = json.loads(argv[0])
    json.dump(run_load(**spec), sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
