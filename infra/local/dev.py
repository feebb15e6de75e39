"""`make dev`: the whole API on this machine, with no AWS account.

DynamoDB Local (data kept in `.local/dynamodb` across restarts), the table, the HTTP API on
http://127.0.0.1:8787 (`PORT=` to change it) and the stream poller feeding the cascade
function. The first start creates an environment and an API key; the key is kept in
`.local/dev.json` (only its hash is in the table) with the endpoints, for `waymark --local`.
Ctrl-C (or SIGTERM) stops everything this started.

`WAYMARK_LOCAL_DIR` moves `.local` elsewhere. `LocalStack` is also what the integration
tests run, with DynamoDB Local in memory and a free port.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import IO, Any

from infra.local.aws_services import JOBS_QUEUE, LocalAwsServices
from infra.local.dynamodb_local import REGION, DynamoDBLocal, ensure_table
from infra.local.queues import QueuePoller
from infra.local.schedule import Every
from infra.local.server import (
    DEFAULT_HOST,
    DEFAULT_MAX_WORKERS,
    DEFAULT_PORT,
    LocalApi,
    ignore_stop_signals,
    raise_interrupt,
)
from infra.local.stream_poller import StreamHandler, StreamPoller
from shared.settings import METRICS_NAMESPACE, Variables

log = logging.getLogger("waymark.local")

DEFAULT_TABLE = "waymark-local"
API_VERSION = "2020-01-03"
# Stream consumers, as the CDK stack wires them: name -> ("<module>.<handler>", "<module>.<the
# filter its mapping applies>").
STREAM_HANDLERS = {
    "cascade": (
        "functions.cascade.handler.lambda_handler",
        "functions.cascade.handler.PURGE_FILTER",
    ),
    "webhook_dispatch": (
        "functions.webhook_dispatch.handler.lambda_handler",
        "functions.webhook_dispatch.handler.DISPATCH_FILTER",
    ),
}
QUEUE_HANDLER = "functions.webhook_delivery.handler.lambda_handler"
JOBS_HANDLER = "functions.transfer_jobs.handler.lambda_handler"
# As the stack's mapping: one step a message; steps of a few jobs at once (threads here).
JOBS_CONCURRENCY = 2
JOBS_VISIBILITY_SECONDS = 600
SCHEDULED_HANDLER = "functions.webhook_probe.handler.lambda_handler"
# Every minute in AWS (EventBridge's finest rate); locally often, so tests need not wait.
PROBE_INTERVAL_SECONDS = 0.5


def load_attribute(path: str) -> Any:
    module, attribute = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), attribute)


def load_handler(path: str) -> StreamHandler:
    handler: StreamHandler = load_attribute(path)
    return handler


def repair_attribute(value: Any) -> Any:
    """DynamoDB Local's streams write an empty map as `{}` instead of `{"M": {}}`."""
    if not isinstance(value, dict):
        return value
    if not value:
        return {"M": {}}
    if "M" in value:
        return {"M": {k: repair_attribute(v) for k, v in value["M"].items()}}
    if "L" in value:
        return {"L": [repair_attribute(v) for v in value["L"]]}
    return value


def repair_stream_event(event: dict[str, Any]) -> dict[str, Any]:
    """Stream records as AWS sends them (see repair_attribute)."""
    records = []
    for record in event.get("Records", []):
        dynamodb = dict(record.get("dynamodb") or {})
        for image in ("Keys", "NewImage", "OldImage"):
            if image in dynamodb:
                dynamodb[image] = {k: repair_attribute(v) for k, v in dynamodb[image].items()}
        records.append({**record, "dynamodb": dynamodb})
    return {**event, "Records": records}


def stream_handler(path: str) -> StreamHandler:
    """A stream consumer as the event source mapping would call it."""
    handler = load_handler(path)

    def invoke(event: dict[str, Any], context: Any) -> Any:
        return handler(repair_stream_event(event), context)

    return invoke


class LocalStack:
    """DynamoDB Local + table + SQS and S3 (moto) + HTTP API + stream and queue pollers (webhook
    deliveries, job steps) + the probe schedule, started and stopped together. Webhooks may go
    to http:// loopback receivers (the local-development switch): that is how a developer
    points them at a server on their own machine.

    start() points this process at the table (TABLE_NAME, DYNAMODB_ENDPOINT_URL and dummy
    AWS credentials in os.environ, store caches reset): the authorizer and the stream handlers
    run in this process, the functions in worker processes that inherit the environment.
    """

    def __init__(
        self,
        *,
        db_path: Path | None = None,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        table_name: str = DEFAULT_TABLE,
        stream_handlers: dict[str, tuple[str, str]] | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        dynamodb_log: Path | None = None,
        worker_output: IO[bytes] | None = None,
    ) -> None:
        self.table_name = table_name
        self.dynamodb = DynamoDBLocal(db_path=db_path, host=host, log_file=dynamodb_log)
        self.api = LocalApi(
            host=host, port=port, max_workers=max_workers, worker_output=worker_output
        )
        self.stream_handlers = STREAM_HANDLERS if stream_handlers is None else stream_handlers
        self.poller: StreamPoller | None = None
        # Kept beside the table's data when the stack keeps it (make dev), so the secrets
        # sealed before a restart still open.
        self.aws = LocalAwsServices(host=host, state_dir=db_path.parent if db_path else None)
        self.queue_poller: QueuePoller | None = None
        self.jobs_poller: QueuePoller | None = None
        self.probe_schedule: Every | None = None

    @property
    def url(self) -> str:
        return self.api.url

    @property
    def dynamodb_endpoint_url(self) -> str:
        return self.dynamodb.endpoint_url

    def start(self) -> LocalStack:
        try:
            endpoint_url = self.dynamodb.start()
            self.aws.start()
            self.configure_environment()
            ensure_table(endpoint_url, self.table_name)
            handlers = {
                name: (stream_handler(path), load_attribute(record_filter))
                for name, (path, record_filter) in self.stream_handlers.items()
            }
            if handlers:
                self.poller = StreamPoller(
                    endpoint_url=endpoint_url, table_name=self.table_name, handlers=handlers
                )
                self.poller.start()
            self.queue_poller = QueuePoller(
                endpoint_url=self.aws.sqs_endpoint_url,
                queue_url=self.aws.queue_url,
                handler=load_handler(QUEUE_HANDLER),
            )
            self.queue_poller.start()
            self.jobs_poller = QueuePoller(
                endpoint_url=self.aws.sqs_endpoint_url,
                queue_url=self.aws.jobs_queue_url,
                handler=load_handler(JOBS_HANDLER),
                batch_size=1,
                concurrency=JOBS_CONCURRENCY,
                visibility_timeout=JOBS_VISIBILITY_SECONDS,
                queue_name=JOBS_QUEUE,
            )
            self.jobs_poller.start()
            probe = load_handler(SCHEDULED_HANDLER)
            self.probe_schedule = Every(
                PROBE_INTERVAL_SECONDS, lambda: probe({}, None), name="webhook-probe"
            )
            self.probe_schedule.start()
            self.api.start()
        except BaseException:
            self.stop()
            raise
        return self

    def configure_environment(self) -> None:
        os.environ[Variables.TABLE_NAME] = self.table_name
        os.environ[Variables.DYNAMODB_ENDPOINT_URL] = self.dynamodb.endpoint_url
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ.setdefault("AWS_REGION", REGION)
        os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
        os.environ[Variables.SQS_ENDPOINT_URL] = self.aws.sqs_endpoint_url
        os.environ[Variables.S3_ENDPOINT_URL] = self.aws.endpoint_url
        os.environ[Variables.KMS_ENDPOINT_URL] = self.aws.kms_endpoint_url
        os.environ[Variables.WEBHOOK_QUEUE_URL] = self.aws.queue_url
        os.environ[Variables.WEBHOOK_DEAD_LETTER_QUEUE_URL] = self.aws.dead_letter_queue_url
        os.environ[Variables.WEBHOOK_BODIES_BUCKET] = self.aws.bodies_bucket
        os.environ[Variables.WEBHOOK_SECRETS_KEY] = self.aws.secrets_key_id
        os.environ[Variables.TRANSFERS_BUCKET] = self.aws.transfers_bucket
        os.environ[Variables.JOBS_QUEUE_URL] = self.aws.jobs_queue_url
        os.environ[Variables.WEBHOOKS_ALLOW_LOOPBACK] = "1"
        os.environ.setdefault(Variables.METRICS_NAMESPACE, METRICS_NAMESPACE)
        # Metrics are CloudWatch EMF lines; locally they would only bury the logs.
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "1")
        from shared.store import dynamo
        from shared.transfers import files, steps
        from shared.webhooks import bodies, queue, sealing

        dynamo.reset()
        queue.reset()
        bodies.reset()
        files.reset()
        steps.reset()
        sealing.reset()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until the stream poller has handled everything written so far."""
        if self.poller is None:
            raise RuntimeError("no stream poller is running")
        self.poller.wait_idle(timeout)

    def stop(self) -> None:
        """Stop what was started, newest first; safe to call twice."""
        try:
            self.api.stop()
        finally:
            try:
                for poller in (
                    self.probe_schedule,
                    self.jobs_poller,
                    self.queue_poller,
                    self.poller,
                ):
                    if poller is not None:
                        poller.stop()
                self.probe_schedule = None
                self.jobs_poller = self.queue_poller = self.poller = None
            finally:
                try:
                    self.aws.stop()
                finally:
                    self.dynamodb.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def local_dir() -> Path:
    return Path(os.environ.get("WAYMARK_LOCAL_DIR") or ".local").resolve()


def ensure_credentials(state: dict[str, Any]) -> tuple[str, str]:
    """The dev environment and its plain API key: reuse the saved ones while they still work."""
    from shared.store import tenancy

    api_key = state.get("api_key")
    environment_id = state.get("environment_id")
    if api_key and environment_id and tenancy.resolve_api_key(api_key) == environment_id:
        return environment_id, api_key
    environment = tenancy.create_environment("Development")
    _, plain = tenancy.create_api_key(environment.id, name="make dev")
    log.info("Created environment %s and an API key for it", environment.id)
    return environment.id, plain


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(state, indent=2) + "\n")
    partial.chmod(0o600)  # it holds a plain API key
    partial.replace(path)


def banner(url: str, api_key: str, environment_id: str, state_path: Path) -> str:
    return "\n".join(
        [
            "",
            f"  Waymark local API   {url}",
            f"  API key             {api_key}",
            f"  Environment         {environment_id}",
            "",
            "  Try:",
            f"    curl -H 'Authorization: Bearer {api_key}' "
            f"-H 'Userflow-Version: {API_VERSION}' {url}/users",
            "",
            f"  State in {state_path} (`waymark --local ...` uses it). Ctrl-C stops everything.",
            "",
        ]
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Ctrl-C and SIGTERM both clean up (explicitly: a shell may start us with SIGINT ignored).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, raise_interrupt)
    directory = local_dir()
    state_path = directory / "dev.json"
    port = int(os.environ.get("PORT") or DEFAULT_PORT)
    stack = LocalStack(
        db_path=directory / "dynamodb",
        port=port,
        dynamodb_log=directory / "dynamodb.log",
    )
    try:
        try:
            stack.start()
        except OSError as error:
            if error.errno == 98:  # EADDRINUSE
                print(f"Port {port} is in use: run with PORT=<another port>.", file=sys.stderr)
                return 1
            raise
        state = json.loads(state_path.read_text()) if state_path.exists() else {}
        environment_id, api_key = ensure_credentials(state)
        write_state(
            state_path,
            {
                "url": stack.url,
                "api_key": api_key,
                "environment_id": environment_id,
                "dynamodb_endpoint_url": stack.dynamodb_endpoint_url,
                "table_name": stack.table_name,
                "kms_endpoint_url": stack.aws.kms_endpoint_url,
                "webhook_secrets_key_id": stack.aws.secrets_key_id,
            },
        )
        print(banner(stack.url, api_key, environment_id, state_path), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("Stopping...", file=sys.stderr, flush=True)
    finally:
        ignore_stop_signals()
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
