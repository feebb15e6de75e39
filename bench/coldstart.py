"""Cold start: each function's import time against a baseline of importing boto3 and
Powertools' event handler and logger alone, measured alternately in fresh interpreters (one
run, so the ratio holds on a noisy machine); and what two options would add to every cold
start: Powertools' runtime request validation and its Tracer."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.report import Section

RUNS = int(os.environ.get("BENCH_RUNS", "9"))

BASELINE = "import boto3, aws_lambda_powertools.event_handler, aws_lambda_powertools.logging"
HANDLER = "import functions.users.handler"


def import_seconds(statement: str) -> float:
    code = f"import time; t=time.perf_counter(); {statement}; print(time.perf_counter()-t)"
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return float(output.strip())


# One route parsing a request body and answering a page of 100 users, as a cold start runs it
# (import, first request) and as a warm container does: by hand
# (shared/http/conventions.parse_model), or by Powertools' runtime validation, which needs the
# body declared as a route parameter and enable_validation on the resolver.
_ROUTE = """
import json
from typing import Annotated
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from shared.http.conventions import parse_model
from shared.http.models import UpsertUserBody
PAGE = {{'object': 'list', 'has_more': True, 'data': [
    {{'id': f'u{{i}}', 'object': 'user', 'attributes': {{f'a{{j}}': j for j in range(20)}}}}
    for i in range(100)]}}
{resolver}
event = {{'httpMethod': 'POST', 'path': '/users', 'resource': '/users',
    'headers': {{'content-type': 'application/json'}}, 'requestContext': {{'requestId': 'r'}},
    'body': json.dumps({{'id': 'u1', 'attributes': {{'plan': 'pro'}}}})}}
app.resolve(event, None)
"""
BY_HAND = _ROUTE.format(
    resolver=(
        "app = APIGatewayRestResolver()\n"
        "@app.post('/users')\n"
        "def upsert() -> dict:\n"
        "    parse_model(UpsertUserBody, app.current_event.json_body)\n"
        "    return PAGE"
    )
)
VALIDATED = _ROUTE.format(
    resolver=(
        "app = APIGatewayRestResolver(enable_validation=True)\n"
        "@app.post('/users')\n"
        "def upsert(body: Annotated[UpsertUserBody, Body()]) -> dict:\n"
        "    return PAGE"
    )
)
# What Tracer() costs where it runs (in Lambda: it is disabled elsewhere).
TRACER = (
    "import os; os.environ['AWS_LAMBDA_FUNCTION_NAME'] = 'bench'; "
    "from aws_lambda_powertools import Tracer; Tracer(service='bench')"
)


def _run_seconds(code: str) -> float:
    return import_seconds(f"exec({code!r})")


def _warm_request_seconds(validated: bool, requests: int = 300) -> float:
    """A warm request to the body route, which answers a page of 100 users (this process)."""
    namespace: dict[str, Any] = {}
    exec(VALIDATED if validated else BY_HAND, namespace)
    app, event = namespace["app"], namespace["event"]
    started = time.perf_counter()
    for _ in range(requests):
        app.resolve(event, None)
    return (time.perf_counter() - started) / requests


def bench_cold_start_options() -> None:
    by_hand: list[float] = []
    validated: list[float] = []
    tracer: list[float] = []
    baseline: list[float] = []
    _run_seconds(VALIDATED)  # warm the file cache and bytecode
    import_seconds(TRACER)
    for _ in range(RUNS):
        by_hand.append(_run_seconds(BY_HAND))
        validated.append(_run_seconds(VALIDATED))
        baseline.append(import_seconds(BASELINE))
        tracer.append(import_seconds(f"{BASELINE}; {TRACER}"))
    h, v = statistics.median(by_hand), statistics.median(validated)
    b, t = statistics.median(baseline), statistics.median(tracer)
    print(f"cold start options (median of {RUNS}, fresh interpreters, alternating):")
    print(f"  a body route, parsed by hand (import + 1st request): {h * 1000:7.1f} ms")
    print(f"  the same route, Powertools enable_validation=True:   {v * 1000:7.1f} ms")
    print(f"  runtime validation adds to a cold start:             {(v - h) * 1000:+7.1f} ms")
    warm = {valid: _warm_request_seconds(valid) for valid in (False, True)}
    print(f"  a warm request answering a page of 100 users, by hand: {warm[False] * 1000:5.2f} ms")
    print(f"  the same with enable_validation=True:                  {warm[True] * 1000:5.2f} ms")
    print(f"  Tracer() (X-Ray SDK, patching) on the baseline adds: {(t - b) * 1000:+7.1f} ms")


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


def run() -> list[Section]:
    bench_imports()
    bench_cold_start_options()
    return []
