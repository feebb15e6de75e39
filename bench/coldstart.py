"""Cold start: every function's import time against a baseline of importing boto3 and
Powertools' event handler and logger alone, measured alternately in fresh interpreters (one
run, so the ratio holds on a noisy machine); the users function's import and first request;
and what two options would add to every cold start: Powertools' runtime request validation and
its Tracer."""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report import Section, table
from infra.layer import POWERTOOLS_LAYER
from infra.runtime import layer_environment, runtime_python

if TYPE_CHECKING:
    from infra.routes import FunctionRoute

RUNS = int(os.environ.get("BENCH_RUNS", "9"))

BASELINE = "import boto3, aws_lambda_powertools.event_handler, aws_lambda_powertools.logging"
# What no handler should exceed: its import against the baseline's.
TARGET_RATIO = 1.25
# A git revision to compare with, bundled as source only (as every asset shipped before
# bytecode was added): `BENCH_COLDSTART_AGAINST=<rev> python -m bench coldstart`.
AGAINST = os.environ.get("BENCH_COLDSTART_AGAINST")


@functools.cache
def runtime_interpreter() -> str:
    """The runtime's Python with the layer's and the runtime's packages (infra/runtime.py)."""
    return str(layer_environment() / "bin" / "python")


@contextmanager
def bundled_assets(
    functions: list[FunctionRoute], root: Path | None = None, *, bytecode: bool = True
) -> Iterator[dict[str, Path]]:
    """Each function's asset as the stack bundles it (infra/constructs/python_function.py):
    source, and bytecode for the runtime's Python unless `bytecode` is false (as every asset
    shipped before bytecode was added). `root` is the repository's, or a revision's tree."""
    from infra.constructs.python_function import REPO_ROOT, SourceCopyBundler, asset_folders

    python = runtime_python() if bytecode else None
    with tempfile.TemporaryDirectory(prefix="waymark-assets-") as folder:
        assets: dict[str, Path] = {}
        for route in functions:
            asset = Path(folder) / route.name
            asset.mkdir()
            folders = asset_folders(route.folder, route.bundles)
            SourceCopyBundler(root or REPO_ROOT, folders, python).bundle_into(asset)
            assets[route.name] = asset
        yield assets


@contextmanager
def revision_tree(revision: str) -> Iterator[Path]:
    """The repository's files at `revision` (git archive), to bundle that revision's assets."""
    from infra.constructs.python_function import REPO_ROOT

    archive = subprocess.run(
        ["git", "archive", revision], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout
    with tempfile.TemporaryDirectory(prefix="waymark-revision-") as folder:
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield Path(folder)


def import_seconds(
    statement: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> float:
    """One fresh interpreter's time for `statement`, in the runtime's environment. As in Lambda
    (a read-only /var/task), it writes no bytecode: it runs on what the asset or the installed
    packages carry."""
    code = f"import time; t=time.perf_counter(); {statement}; print(time.perf_counter()-t)"
    output = subprocess.run(
        [runtime_interpreter(), "-B", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    ).stdout
    return float(output.strip().splitlines()[-1])


def bench_imports(functions: list[FunctionRoute], variants: dict[str, dict[str, Path]]) -> str:
    """Each function's handler module, imported from its asset (the interpreter's working
    directory, first on its path, as /var/task is in Lambda) in each variant, each run right
    after a baseline run: a ratio is the median of the pairs' ratios, so a burst of load hits
    both sides. The first variant is the one the target applies to."""
    for route in functions:
        for assets in variants.values():  # warm the file cache
            import_seconds(f"import {route.module}", cwd=assets[route.name])
    times: dict[tuple[str, str], list[float]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    for _ in range(RUNS):
        for route in functions:
            for label, assets in variants.items():
                base = import_seconds(BASELINE)
                took = import_seconds(f"import {route.module}", cwd=assets[route.name])
                times.setdefault((route.name, label), []).append(took)
                times.setdefault((route.name, "baseline"), []).append(base)
                ratios.setdefault((route.name, label), []).append(took / base)
    first, *others = variants
    rows: list[list[str | float]] = []
    for route in functions:
        ratio = statistics.median(ratios[route.name, first])
        rows.append(
            [
                route.name,
                f"`{route.module}`",
                statistics.median(times[route.name, first]) * 1000,
                statistics.median(times[route.name, "baseline"]) * 1000,
                f"{ratio:.2f}" + (" (over)" if ratio > TARGET_RATIO else ""),
                *(f"{statistics.median(ratios[route.name, label]):.2f}" for label in others),
            ]
        )
    headers = ["function", "handler module", "import (ms)", "baseline (ms)", "ratio"]
    return table([*headers, *(f"ratio, {label}" for label in others)], rows)


# The users function's first request in a fresh interpreter: import, the settings, the DynamoDB
# client and one GetItem (answered by a stub: the user is missing, a 404), against the baseline
# importing the same and making the same call on a bare client.
_EVENT = {
    "resource": "/users/{user_id}",
    "path": "/users/u1",
    "httpMethod": "GET",
    "headers": {"Userflow-Version": "2020-01-03"},
    "multiValueHeaders": {"Userflow-Version": ["2020-01-03"]},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": {"user_id": "u1"},
    "body": None,
    "isBase64Encoded": False,
    "requestContext": {
        "requestId": "bench",
        "stage": "bench",
        "httpMethod": "GET",
        "path": "/users/u1",
        "authorizer": {"principalId": "env_bench", "environment_id": "env_bench"},
    },
}
FIRST_REQUEST = (
    "import functions.users.handler as h; "
    f"r = h.lambda_handler({_EVENT!r}, None); assert r['statusCode'] == 404, r"
)
BASELINE_REQUEST = (
    f"{BASELINE}; import os; "
    "c = boto3.client('dynamodb', endpoint_url=os.environ['DYNAMODB_ENDPOINT_URL']); "
    "c.get_item(TableName='bench', Key={'pk': {'S': 'x'}, 'sk': {'S': 'y'}})"
)


class _EmptyDynamo(BaseHTTPRequestHandler):
    """Answers every DynamoDB call with `{}` (a GetItem that finds nothing)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def _empty_dynamo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmptyDynamo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def bench_first_request(users_asset: Path) -> list[list[str | float]]:
    with _empty_dynamo() as endpoint:
        env = {
            **os.environ,
            "TABLE_NAME": "bench",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "DYNAMODB_ENDPOINT_URL": endpoint,
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        import_seconds(FIRST_REQUEST, env, users_asset)  # warm
        baseline: list[float] = []
        handler: list[float] = []
        for _ in range(RUNS):
            baseline.append(import_seconds(BASELINE_REQUEST, env))
            handler.append(import_seconds(FIRST_REQUEST, env, users_asset))
    ratio = statistics.median(h / b for h, b in zip(handler, baseline, strict=True))
    return [
        [
            "users: import + first request (GET /users/u1, a 404 after one GetItem)",
            statistics.median(handler) * 1000,
            f"baseline + a client's first GetItem: {statistics.median(baseline) * 1000:,.1f} ms"
            f" (ratio {ratio:.2f})",
        ]
    ]


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


def _run_seconds(code: str, users_asset: Path) -> float:
    return import_seconds(f"exec({code!r})", cwd=users_asset)


def _warm_request_seconds(validated: bool, requests: int = 300) -> float:
    """A warm request to the body route, which answers a page of 100 users (this process)."""
    namespace: dict[str, Any] = {}
    exec(VALIDATED if validated else BY_HAND, namespace)
    app, event = namespace["app"], namespace["event"]
    started = time.perf_counter()
    for _ in range(requests):
        app.resolve(event, None)
    return (time.perf_counter() - started) / requests


def bench_cold_start_options(users_asset: Path) -> list[list[str | float]]:
    by_hand: list[float] = []
    validated: list[float] = []
    tracer: list[float] = []
    baseline: list[float] = []
    _run_seconds(VALIDATED, users_asset)  # warm the file cache and bytecode
    import_seconds(TRACER)
    for _ in range(RUNS):
        by_hand.append(_run_seconds(BY_HAND, users_asset))
        validated.append(_run_seconds(VALIDATED, users_asset))
        baseline.append(import_seconds(BASELINE))
        tracer.append(import_seconds(f"{BASELINE}; {TRACER}"))
    h, v = statistics.median(by_hand), statistics.median(validated)
    b, t = statistics.median(baseline), statistics.median(tracer)
    warm = {valid: _warm_request_seconds(valid) for valid in (False, True)}
    return [
        ["a body route parsed by hand: import + first request", h * 1000, ""],
        ["the same route with enable_validation=True", v * 1000, f"{(v - h) * 1000:+,.1f} ms"],
        ["a warm request answering 100 users, by hand", warm[False] * 1000, ""],
        [
            "the same with enable_validation=True",
            warm[True] * 1000,
            f"{(warm[True] - warm[False]) * 1000:+,.2f} ms",
        ],
        ["Tracer() (X-Ray SDK, patching) on the baseline", t * 1000, f"{(t - b) * 1000:+,.1f} ms"],
    ]


def run() -> list[Section]:
    from infra.functions import DEPLOYED_FUNCTIONS  # the CDK constructs: loaded here only

    functions = list(DEPLOYED_FUNCTIONS)
    with ExitStack() as stack:
        assets = stack.enter_context(bundled_assets(functions))
        variants = {
            "as bundled": assets,
            "source only": stack.enter_context(bundled_assets(functions, bytecode=False)),
        }
        if AGAINST:
            tree = stack.enter_context(revision_tree(AGAINST))
            variants[f"at {AGAINST}, source only"] = stack.enter_context(
                bundled_assets(functions, tree, bytecode=False)
            )
        imports = bench_imports(functions, variants)
        rows = bench_first_request(assets["users"]) + bench_cold_start_options(assets["users"])
    return [
        Section(
            title="Cold start",
            method=f"""
Each function's asset, bundled as the stack bundles it (its source and bytecode compiled by
Python {POWERTOOLS_LAYER.python}), imported in a fresh interpreter of the runtime's Python with
the layer's and the runtime's packages (infra/runtime.py; `python -B -c "import ..."` run in
the asset's folder, as Lambda runs in /var/task, and the time of the import statement). Each
import runs {RUNS} times, each time right after the baseline: importing boto3 and Powertools'
event handler and logger, what any function here needs at least. The ratio is the median of
the pairs' ratios; the target is at most {TARGET_RATIO} for every function. "Source only" is
the same asset without its bytecode, as every asset shipped before bytecode was added: Lambda
cannot write /var/task, so each cold start compiled every module again. Then what a cold start
does after the import, and two options it does without.
""",
            parts=[
                imports,
                table(["cold start", "ms (median)", "against"], rows, digits=1),
            ],
            findings=f"""
A function imports what its routes need at once and no more: the content half's objects,
expansion and rules load only in the content functions; a route that lists, searches or
deletes imports its service on its first request; imports and exports load with the first
job of their kind; the TLS context with the first webhook POST; the idempotency store with
the first request carrying a key. No handler imports pydantic: a route imports the body model
it parses, and the settings are a plain dataclass checked by hand at the first invocation
(the first-request row includes it: a GET, a stream batch or the authorizer loads no pydantic
at all). What remains above the baseline is the functions' own modules (about 0.2 ms to load
each, and 0.5 ms for each frozen dataclass built at import). usertour_v1 imports the handlers
it runs on first use, so its import is below the baseline. Runtime validation and the Tracer
are off: the OpenAPI document is generated at build time instead, and tracing would add the
X-Ray SDK to every cold start. Times are medians of {RUNS} runs on a shared machine; the
ratios, measured side by side, are what to compare.
""",
        )
    ]
