"""The local API: HTTP requests -> API Gateway REST proxy events -> the same Lambda handlers.

What API Gateway does in front of the functions, done here for a single machine:
- the route table (`infra.routes`) picks the function; an unknown path is a 404 (the API's
  MISSING_AUTHENTICATION_TOKEN gateway response);
- no `Authorization` header is a 401 (UNAUTHORIZED) without calling the authorizer; otherwise
  the REQUEST authorizer runs and a Deny is a 401 built from its context (ACCESS_DENIED);
- the authorizer names the environment's usage-plan key; the environment's rate limits and
  daily quota are enforced as its usage plan would (infra/local/throttle.py): 429s with
  Retry-After, as the API's THROTTLED and QUOTA_EXCEEDED gateway responses;
- the function gets the proxy event with the authorizer's context, and its proxy response is
  written back; a crash, a bad response or a timeout is a 5xx in the API's error envelope.
Unlike API Gateway, authorizer results are not cached, so a revoked key stops working at once.
The API is served at the root, as behind a custom domain mapped at the root (so
`requestContext.path` is the resource path, without a stage).

Each function runs in worker processes, like Lambda execution environments: one request at a
time per worker, up to `max_workers` per function, started on demand and reused. Processes,
not threads: Powertools' resolvers keep the current event in a class attribute shared by every
resolver in a process (`BaseRouter.current_event`), so two requests in one process, even in
separately imported copies of a handler module, would read each other's events.

Run alone with `python -m infra.local.server` (the environment must point at a table); the
full stack is `python -m infra.local.dev`.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

from infra.gateway import (
    DENIED,
    MISSING_KEY,
    TOO_LARGE,
    UNKNOWN_PATH,
    GatewayAnswer,
)
from infra.local.throttle import LocalUsagePlans, table_limits
from infra.routes import API_FUNCTIONS, AUTHORIZER, FunctionRoute, match

log = logging.getLogger("waymark.local.api")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
STAGE = "local"
ACCOUNT_ID = "000000000000"
REGION = "us-east-1"
API_ID = "local"
MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit
FUNCTION_TIMEOUT = 29.0  # API Gateway's integration timeout
WORKER_START_TIMEOUT = 60.0
DEFAULT_MAX_WORKERS = 4

Event = dict[str, Any]
Handler = Callable[[Event, Any], Any]


# --- the error envelope, as the API's gateway responses render it ----------------------------


def envelope(code: str, message: str, request_id: str) -> bytes:
    return json.dumps(
        {"error": {"code": code, "message": message, "request_id": request_id}}
    ).encode()


class GatewayError(Exception):
    """An answer API Gateway gives itself (infra/gateway.py)."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    @classmethod
    def of(cls, answer: GatewayAnswer) -> GatewayError:
        assert answer.status is not None, answer
        return cls(answer.status, answer.code, answer.message, answer.headers)


def internal_error() -> GatewayError:
    return GatewayError(502, "internal_error", "Something went wrong on our end. Please retry.")


# --- Lambda's context object --------------------------------------------------------------


class LocalLambdaContext:
    """What handlers (and Powertools) read from Lambda's context."""

    memory_limit_in_mb = 512
    log_stream_name = "local"

    def __init__(self, function_name: str, request_id: str, timeout: float) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:waymark-local-{function_name}"
        )
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/waymark-local-{function_name}"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# --- worker processes ---------------------------------------------------------------------


class WorkerError(Exception):
    """A worker died, timed out, or failed to start."""


def worker_main(handler_path: str, requests_fd: int, responses_fd: int) -> None:
    """The worker process: import the handler once, then serve one event at a time.

    Events and responses travel as JSON lines on two pipes of their own, so whatever the
    handler prints (its logs) goes to the inherited stdout/stderr as on Lambda. The worker
    exits when the server closes the request pipe, including when the server dies.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    requests = os.fdopen(requests_fd, "rb")
    responses = os.fdopen(responses_fd, "wb")

    def send(kind: str, payload: Any) -> None:
        responses.write(json.dumps({"kind": kind, "payload": payload}).encode() + b"\n")
        responses.flush()

    name, attribute = handler_path.rsplit(".", 1)
    try:
        handler: Handler = getattr(importlib.import_module(name), attribute)
    except BaseException:
        send("failed", traceback.format_exc())
        return
    send("ready", None)
    for line in requests:
        message = json.loads(line)
        context = LocalLambdaContext(message["function"], message["request_id"], message["timeout"])
        try:
            result = handler(message["event"], context)
        except Exception:
            # Lambda reports the error and keeps the execution environment.
            traceback.print_exc()
            send("error", traceback.format_exc())
            continue
        try:
            send("ok", result)
        except TypeError:
            send("error", f"The handler's response is not JSON-serializable: {result!r:.200}")


class Worker:
    """One worker process serving one function (a Lambda execution environment)."""

    def __init__(
        self,
        route: FunctionRoute,
        env: Mapping[str, str] | None = None,
        output: IO[bytes] | None = None,
    ) -> None:
        self.route = route
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "infra.local.server",
                    "--worker",
                    route.handler,
                    str(request_read),
                    str(response_write),
                ],
                cwd=REPO_ROOT,
                # Like the stack: each function logs under its own service name.
                env={
                    "POWERTOOLS_SERVICE_NAME": route.name,
                    **(env if env is not None else os.environ),
                },
                stdin=subprocess.DEVNULL,
                stdout=output,  # the handler's logs; None: the server's own stdout/stderr
                stderr=output,
                pass_fds=(request_read, response_write),
                start_new_session=True,  # Ctrl-C is for the server, which stops its workers
            )
        finally:
            os.close(request_read)
            os.close(response_write)
        self._requests: IO[bytes] = os.fdopen(request_write, "wb")
        self._responses: IO[bytes] = os.fdopen(response_read, "rb")
        try:
            ready = self._receive(WORKER_START_TIMEOUT)
        except WorkerError:
            self.stop()
            raise
        if ready["kind"] != "ready":
            self.stop()
            raise WorkerError(f"{route.handler} failed to import:\n{ready['payload']}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def invoke(self, event: Event, request_id: str, timeout: float) -> Any:
        message = {
            "function": self.route.name,
            "request_id": request_id,
            "timeout": timeout,
            "event": event,
        }
        try:
            self._requests.write(json.dumps(message).encode() + b"\n")
            self._requests.flush()
        except OSError as error:
            raise WorkerError(f"worker {self.pid} is gone: {error}") from error
        answer = self._receive(timeout)
        if answer["kind"] == "error":
            raise FunctionError(answer["payload"])
        return answer["payload"]

    def _receive(self, timeout: float) -> dict[str, Any]:
        # One line per request: the reader's buffer is empty here, so select() is reliable.
        readable, _, _ = select.select([self._responses], [], [], timeout)
        if not readable:
            raise WorkerTimeout(f"{self.route.name} did not answer within {timeout:.0f}s")
        line = self._responses.readline()
        if not line:
            code = self.process.wait(5)
            raise WorkerError(f"worker {self.pid} for {self.route.name} exited with {code}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stop(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(OSError):
            self._requests.close()  # EOF: the worker's loop ends
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        with contextlib.suppress(OSError):
            self._responses.close()


class FunctionError(Exception):
    """The handler raised: Lambda's 'Unhandled' error, a 502 from API Gateway."""


class WorkerTimeout(WorkerError):
    """The handler ran past the integration timeout."""


class FunctionPool:
    """Up to `max_workers` workers for one function; each serves one request at a time."""

    def __init__(
        self,
        route: FunctionRoute,
        *,
        max_workers: int,
        timeout: float,
        env: Mapping[str, str] | None = None,
        output: IO[bytes] | None = None,
    ) -> None:
        self.route = route
        self.max_workers = max_workers
        self.timeout = timeout
        self.env = env
        self.output = output
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._starting = 0
        self._closed = False
        self._condition = threading.Condition()

    @property
    def size(self) -> int:
        with self._condition:
            return len(self._idle) + len(self._busy) + self._starting

    def invoke(self, event: Event, request_id: str) -> Any:
        worker = self._acquire()
        healthy = False
        try:
            result = worker.invoke(event, request_id, self.timeout)
            healthy = True
            return result
        except FunctionError:
            healthy = True
            raise
        except WorkerTimeout:
            worker.process.kill()  # like Lambda: a timed-out environment is not reused
            raise
        finally:
            self._release(worker, healthy)

    def _acquire(self) -> Worker:
        with self._condition:
            while True:
                if self._closed:
                    raise WorkerError("the server is stopping")
                if self._idle:
                    worker = self._idle.pop()
                    self._busy.add(worker)
                    return worker
                if len(self._busy) + self._starting < self.max_workers:
                    self._starting += 1
                    break
                self._condition.wait()
        try:
            started = time.monotonic()
            worker = Worker(self.route, self.env, self.output)
            log.info(
                "%s: started worker %d (cold start %.0f ms)",
                self.route.name,
                worker.pid,
                (time.monotonic() - started) * 1000,
            )
        except BaseException:
            with self._condition:
                self._starting -= 1
                self._condition.notify()
            raise
        with self._condition:
            self._starting -= 1
            self._busy.add(worker)
            closed = self._closed
        if closed:
            self._release(worker, healthy=False)
            raise WorkerError("the server is stopping")
        return worker

    def _release(self, worker: Worker, healthy: bool) -> None:
        with self._condition:
            self._busy.discard(worker)
            keep = healthy and not self._closed
            if keep:
                self._idle.append(worker)
            self._condition.notify()
        if not keep:
            worker.stop()

    def close(self) -> None:
        """Stop idle workers now; busy ones stop when their request ends."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            self._condition.notify_all()
        for worker in idle:
            worker.stop()

    def worker_pids(self) -> list[int]:
        with self._condition:
            return [w.pid for w in (*self._idle, *self._busy)]


# --- requests -> events --------------------------------------------------------------------


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def build_event(
    *,
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    resource: str | None,
    path_parameters: dict[str, str] | None,
    request_id: str,
    authorizer: dict[str, Any] | None = None,
) -> Event:
    """An API Gateway REST proxy event, as a Lambda proxy integration receives it.

    As API Gateway's REST API builds it: `path`, `requestContext.path` and `pathParameters`
    keep the client's percent-encoding, while query string parameters arrive decoded (`+` is
    a space). Source: REST proxy events captured live from API Gateway
    (github.com/hotsock/voker, vokerhttp/testdata/apigwv1-request.json and
    ingress-paths.json): `"path": "/capture/space%20value"`, `"pathParameters": {"proxy":
    "capture/space%20value"}`, and `?encodedPlus=a%2Bb&literalPlus=a+b` as `"a+b"`, `"a b"`.
    The handlers decode path parameters themselves, once (shared/http/app.py).
    """
    split = urlsplit(raw_path)
    path = split.path or "/"
    query, multi_query = _single_and_multi(parse_qsl(split.query, keep_blank_values=True))
    single_headers, multi_headers = _single_and_multi(headers)
    lower = {name.lower(): value for name, value in single_headers.items()}
    now = datetime.now(UTC)
    encoded = False
    text: str | None = None
    if body:
        try:
            text = body.decode()
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
    host = lower.get("host", f"{DEFAULT_HOST}:{DEFAULT_PORT}")
    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "extendedRequestId": request_id,
        "httpMethod": method,
        "identity": {"sourceIp": source_ip, "userAgent": lower.get("user-agent")},
        # As behind a custom domain mapped at the root: the stage is not part of the path.
        "path": path,
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "resourceId": resource or "",
        "resourcePath": resource or path,
        "stage": STAGE,
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": encoded,
    }


def authorizer_event(event: Event) -> Event:
    """The REQUEST authorizer's event for a proxy event."""
    context = event["requestContext"]
    method_arn = (
        f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/"
        f"{event['httpMethod']}{event['resource']}"
    )
    return {
        "type": "REQUEST",
        "methodArn": method_arn,
        **{key: event[key] for key in ("resource", "path", "httpMethod", "headers")},
        "multiValueHeaders": event["multiValueHeaders"],
        "queryStringParameters": event["queryStringParameters"],
        "multiValueQueryStringParameters": event["multiValueQueryStringParameters"],
        "pathParameters": event["pathParameters"],
        "stageVariables": None,
        "requestContext": {k: v for k, v in context.items() if k != "authorizer"},
    }


def _effect(policy: dict[str, Any]) -> str:
    statements = policy.get("policyDocument", {}).get("Statement", [])
    effects = {statement.get("Effect") for statement in statements}
    return "Allow" if effects == {"Allow"} else "Deny"


# --- the API ----------------------------------------------------------------------------------


class LocalApi:
    """The HTTP front door: start() serves in a background thread, stop() ends it all."""

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        functions: tuple[FunctionRoute, ...] = API_FUNCTIONS,
        authorizer: FunctionRoute = AUTHORIZER,
        max_workers: int = DEFAULT_MAX_WORKERS,
        timeout: float = FUNCTION_TIMEOUT,
        env: Mapping[str, str] | None = None,
        worker_output: IO[bytes] | None = None,
        usage_plans: LocalUsagePlans | None = None,
    ) -> None:
        """`env`: the workers' environment (default: this process's, read at each start);
        `worker_output`: where the functions' logs go (default: this process's stdout/stderr);
        `usage_plans`: the rate limits (default: each environment's, from the table).
        """
        self.host = host
        self.port = port
        self.functions = functions
        self.authorizer_route = authorizer
        self.pools = {
            route.name: FunctionPool(
                route, max_workers=max_workers, timeout=timeout, env=env, output=worker_output
            )
            for route in functions
        }
        self.usage_plans = usage_plans or LocalUsagePlans(table_limits)
        self._authorizer: Handler | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Bind, load the authorizer, serve; returns the base URL."""
        # In process: the authorizer is a plain function with no per-request module state.
        name, attribute = self.authorizer_route.handler.rsplit(".", 1)
        self._authorizer = getattr(importlib.import_module(name), attribute)
        server = _Server((self.host, self.port), _RequestHandler)
        server.api = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="local-api"
        )
        self._thread.daemon = True
        self._thread.start()
        log.info("Local API listening on %s", self.url)
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for pool in self.pools.values():
            pool.close()

    def worker_pids(self) -> list[int]:
        return [pid for pool in self.pools.values() for pid in pool.worker_pids()]

    def __enter__(self) -> LocalApi:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # What API Gateway does for one request: route, authorize, integrate.
    def handle(
        self,
        *,
        method: str,
        raw_path: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str,
        request_id: str,
    ) -> tuple[int, list[tuple[str, str]], bytes, str | None]:
        """Returns (status, headers, body, environment id or None)."""
        path = urlsplit(raw_path).path or "/"
        found = self.match(path)
        if found is None:
            raise GatewayError.of(UNKNOWN_PATH)
        route, resource, path_parameters = found
        if not any(name.lower() == "authorization" and value for name, value in headers):
            raise GatewayError.of(MISSING_KEY)
        event = build_event(
            method=method,
            raw_path=raw_path,
            headers=headers,
            body=body,
            source_ip=source_ip,
            resource=resource,
            path_parameters=path_parameters,
            request_id=request_id,
        )
        authorizer_context, usage_key = self._authorize(event, request_id)
        event["requestContext"]["authorizer"] = authorizer_context
        environment_id = authorizer_context.get("environment_id")
        refusal = self.usage_plans.admit(usage_key)
        if refusal is not None:
            raise GatewayError.of(refusal)
        try:
            result = self.pools[route.name].invoke(event, request_id)
        except FunctionError as error:
            log.error("%s raised (request %s):\n%s", route.name, request_id, error)
            raise internal_error() from None
        except WorkerTimeout as error:
            log.error("%s (request %s)", error, request_id)
            raise GatewayError(
                504, "internal_error", "The request timed out. Please retry."
            ) from None
        except WorkerError as error:
            log.error("%s: %s", route.name, error)
            raise internal_error() from None
        status, response_headers, response_body = _proxy_response(result)
        return status, response_headers, response_body, environment_id

    def match(self, path: str) -> tuple[FunctionRoute, str, dict[str, str]] | None:
        """The route table's answer (for another function list, in tests, the same rules)."""
        return match(path, self.functions)

    def _authorize(self, event: Event, request_id: str) -> tuple[dict[str, Any], str | None]:
        """The authorizer's context and the usage-plan key it names; a Deny is a 401."""
        assert self._authorizer is not None, "start() loads the authorizer"
        context = LocalLambdaContext(self.authorizer_route.name, request_id, FUNCTION_TIMEOUT)
        try:
            policy = self._authorizer(authorizer_event(event), context)
        except Exception:
            # API Gateway: AUTHORIZER_FAILURE, rendered by the DEFAULT_5XX gateway response.
            log.exception("the authorizer raised (request %s)", request_id)
            raise GatewayError(
                500, "internal_error", "Something went wrong on our end. Please retry."
            ) from None
        authorizer_context = {
            key: value for key, value in (policy.get("context") or {}).items() if value is not None
        }
        if _effect(policy) != "Allow":
            assert DENIED.status is not None
            raise GatewayError(
                DENIED.status,
                str(authorizer_context.get("error_code") or "invalid_api_key"),
                str(authorizer_context.get("error_message") or "Invalid API key provided."),
            )
        usage_key = policy.get("usageIdentifierKey")
        return (
            {"principalId": policy.get("principalId"), **authorizer_context},
            str(usage_key) if usage_key else None,
        )


def _proxy_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Lambda proxy response -> (status, headers, body); anything malformed is a 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        log.error("malformed Lambda proxy response: %r", result)
        raise internal_error()
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    for name, value in (result.get("headers") or {}).items():
        if name not in multi:
            headers.append((name, str(value)))
    for name, values in multi.items():
        headers.extend((name, str(value)) for value in values)
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return result["statusCode"], headers, data


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # an idle keep-alive connection must not block shutdown
    request_queue_size = 128  # bursts of parallel clients (the default backlog is 5)
    api: LocalApi


HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "waymark-local"
    # Headers and body are two writes: without this, a keep-alive client's delayed ACK holds
    # the body back (40 ms).
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        environment_id: str | None = None
        try:
            body = self._read_body()
            status, headers, data, environment_id = self.server.api.handle(
                method=self.command,
                raw_path=self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                request_id=request_id,
            )
        except GatewayError as error:
            status, data = error.status, envelope(error.code, error.message, request_id)
            headers = [("Content-Type", "application/json"), *error.headers.items()]
        except Exception:
            log.exception("local API failure (request %s)", request_id)
            failure = internal_error()
            status, data = failure.status, envelope(failure.code, failure.message, request_id)
            headers = [("Content-Type", "application/json")]
        self._write(status, headers, data, request_id)
        log.info(
            "%s %s %d %.0fms%s",
            self.command,
            self.path,
            status,
            (time.monotonic() - started) * 1000,
            f" {environment_id}" if environment_id else "",
        )

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            size = 0
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    break
                size += length
                if size > MAX_BODY_BYTES:
                    self.close_connection = True
                    raise _too_large()
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            if length <= 4 * MAX_BODY_BYTES:
                # Drain it, so the client is not cut off mid-send and reads the 413.
                while length > 0:
                    length -= len(self.rfile.read(min(length, 1 << 16))) or length
            else:
                self.close_connection = True  # the unread body makes the connection unusable
            raise _too_large()
        return self.rfile.read(length) if length > 0 else b""

    def _write(
        self, status: int, headers: list[tuple[str, str]], data: bytes, request_id: str
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("x-amzn-RequestId", request_id)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own rejections (bad request line, oversized URL or headers, unknown
        method), rendered like API Gateway's: a too-long URL or header block is its
        REQUEST_TOO_LARGE (413), an unknown method a 405, anything else a 400.
        """
        request_id = str(uuid.uuid4())
        if code in {HTTPStatus.REQUEST_URI_TOO_LONG, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE}:
            error = _too_large()
        elif code == HTTPStatus.NOT_IMPLEMENTED:
            error = GatewayError(405, "method_not_allowed", "This method is not supported.")
        else:
            error = GatewayError(400, "invalid_request", message or "Malformed HTTP request.")
        self.close_connection = True
        data = envelope(error.code, error.message, request_id)
        self.send_response(error.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-RequestId", request_id)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        path = getattr(self, "path", "")[:80]
        log.info("%s %s %d (rejected: %s)", self.command, path, error.status, code)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)  # the access line is logged by _serve


def _too_large() -> GatewayError:
    return GatewayError.of(TOO_LARGE)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["--worker"]:
        handler, requests_fd, responses_fd = arguments[1:4]
        worker_main(handler, int(requests_fd), int(responses_fd))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, raise_interrupt)
    api = LocalApi(port=int(os.environ.get("PORT", DEFAULT_PORT)))
    try:
        api.start()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        ignore_stop_signals()
        api.stop()
    return 0


def raise_interrupt(signum: int, frame: Any) -> None:
    """SIGINT/SIGTERM handler: unwind like Ctrl-C, so the `finally` blocks clean up."""
    raise KeyboardInterrupt


def ignore_stop_signals() -> None:
    """While cleaning up, a second Ctrl-C must not cut the cleanup short."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())
