"""`make bench`: what the users function costs.

1. Cold-start import time of the handler module against a baseline of importing boto3 and
   Powertools' event handler alone, measured alternately in fresh interpreters (same run, so
   the ratio holds on a noisy machine).
2. DynamoDB calls per API operation, counted on the client (moto in process, no network).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

RUNS = int(os.environ.get("BENCH_RUNS", "9"))

BASELINE = "import boto3, aws_lambda_powertools.event_handler, aws_lambda_powertools.logging"
HANDLER = "import functions.users.handler"


def import_seconds(statement: str) -> float:
    code = f"import time; t=time.perf_counter(); {statement}; print(time.perf_counter()-t)"
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return float(output.strip())


def bench_imports() -> None:
    baseline: list[float] = []
    handler: list[float] = []
    import_seconds(HANDLER)  # warm the file cache and bytecode
    for _ in range(RUNS):
        baseline.append(import_seconds(BASELINE))
        handler.append(import_seconds(HANDLER))
    b, h = statistics.median(baseline), statistics.median(handler)
    print(f"import time (median of {RUNS}, fresh interpreters, alternating):")
    print(f"  baseline boto3 + Powertools event handler + logger: {b * 1000:7.1f} ms")
    print(f"  functions.users.handler:                           {h * 1000:7.1f} ms")
    print(f"  ratio handler / baseline:                          {h / b:7.2f}")


def bench_dynamodb_calls() -> None:
    os.environ.update(
        TABLE_NAME="waymark-bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
    )
    os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
    from moto import mock_aws

    from tests.unit.conftest import Invoke

    with mock_aws():
        from functions.users.handler import lambda_handler
        from shared.store import dynamo, schema, tenancy

        dynamo.reset()
        client = dynamo.client()
        client.create_table(**schema.create_table_arguments("waymark-bench"))
        environment_id = tenancy.create_environment("Bench").id
        call = Invoke(lambda_handler, environment_id)
        calls: list[str] = []
        client.meta.events.register(
            "before-call.dynamodb", lambda model, **_: calls.append(model.name)
        )
        for i in range(12):
            call("POST", "/users", body={"id": f"seed{i}"})

        operations = [
            ("upsert (new user, 5 attributes)", "POST", "/users",
             {"body": {"id": "u1", "attributes": {"a": 1, "b": "x", "c": True, "d": 2.5,
                                                  "email": "u1@example.com"}}}),
            ("upsert (existing, set + add)", "POST", "/users",
             {"body": {"id": "u1", "attributes": {"a": {"add": 1}, "b": "y"}}}),
            ("upsert (list append: read-modify-write)", "POST", "/users",
             {"body": {"id": "u1", "attributes": {"tags": {"append": "x"}}}}),
            ("get", "GET", "/users/u1", {}),
            ("list page (limit 10)", "GET", "/users", {}),
            ("list page with starting_after", "GET", "/users", {"query": "starting_after=seed3"}),
            ("list by email", "GET", "/users", {"query": "email=u1@example.com"}),
            ("delete", "DELETE", "/users/u1", {}),
        ]
        print("DynamoDB calls per operation:")
        for label, method, path, kwargs in operations:
            calls.clear()
            started = time.perf_counter()
            status, _ = call(method, path, **kwargs)
            elapsed = (time.perf_counter() - started) * 1000
            assert status == 200, (label, status)
            print(f"  {label:42s} {len(calls)} ({', '.join(calls)})  [{elapsed:.1f} ms on moto]")


def main() -> None:
    bench_imports()
    bench_dynamodb_calls()


if __name__ == "__main__":
    main()
