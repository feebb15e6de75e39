"""A deploy smoke test, offline: every function's asset, exactly as synthesized, imports and
answers a sample event under Python 3.13 with the pinned Powertools layer's package set.

The environment is built once per pin (infra/runtime.layer_environment): a Python 3.13 venv
under `.smoke/` holding what the layer carries (infra/layer.py) and boto3, which the Lambda
runtime provides; nothing of the dev install. Each function runs in a process of
its own, with only its asset on the path and the environment variables its template gives
it (their values pointed at moto's server: the table, queues, bucket and key), and gets the
event its trigger sends: an authorizer request, an API request, a stream batch, an SQS batch
or the scheduled probe event.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.constructs.cascade import CASCADE
from infra.constructs.transfers import TRANSFER_JOBS
from infra.constructs.webhooks import WEBHOOK_DELIVERY, WEBHOOK_DISPATCH, WEBHOOK_PROBE
from infra.functions import DEPLOYED_FUNCTIONS
from infra.layer import POWERTOOLS_LAYER
from infra.routes import API_FUNCTIONS, AUTHORIZER
from infra.runtime import layer_environment
from tests.infra.conftest import Synthesized
from tests.support import api_event, kept_environment

REGION = "us-east-1"


@dataclass(frozen=True)
class LocalAws:
    endpoint_url: str
    table_name: str
    queue_url: str
    dead_letter_queue_url: str
    bucket: str
    key_arn: str
    environment_id: str
    api_key: str
    jobs_queue_url: str
    transfers_bucket: str

    def value_of(self, variable: str) -> str:
        """What stands for a deployed resource's token in the function's environment."""
        values = {
            "TABLE_NAME": self.table_name,
            "WEBHOOK_QUEUE_URL": self.queue_url,
            "WEBHOOK_DEAD_LETTER_QUEUE_URL": self.dead_letter_queue_url,
            "WEBHOOK_BODIES_BUCKET": self.bucket,
            "WEBHOOK_SECRETS_KEY_ID": self.key_arn,
            "TRANSFERS_BUCKET": self.transfers_bucket,
            "JOBS_QUEUE_URL": self.jobs_queue_url,
        }
        return values[variable]


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    """moto's server with the stack's resources, and an environment with a key."""
    from moto.server import ThreadedMotoServer

    from infra.local.aws_services import client
    from infra.local.dynamodb_local import free_port
    from shared.store import dynamo, schema, tenancy

    port = free_port("127.0.0.1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        with kept_environment(("TABLE_NAME", "DYNAMODB_ENDPOINT_URL", "AWS_REGION")):
            client("dynamodb", endpoint).create_table(**schema.create_table_arguments("smoke"))
            sqs = client("sqs", endpoint)
            dead = sqs.create_queue(QueueName="smoke-dead")["QueueUrl"]
            queue = sqs.create_queue(QueueName="smoke")["QueueUrl"]
            jobs = sqs.create_queue(QueueName="smoke-jobs")["QueueUrl"]
            client("s3", endpoint).create_bucket(Bucket="smoke-bodies")
            client("s3", endpoint).create_bucket(Bucket="smoke-transfers")
            key = client("kms", endpoint).create_key()["KeyMetadata"]["Arn"]
            os.environ.update(
                {"TABLE_NAME": "smoke", "DYNAMODB_ENDPOINT_URL": endpoint, "AWS_REGION": REGION}
            )
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "smoke")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "smoke")
            dynamo.reset()
            environment = tenancy.create_environment("Smoke")
            _, api_key = tenancy.create_api_key(environment.id)
            yield LocalAws(
                endpoint,
                "smoke",
                queue,
                dead,
                "smoke-bodies",
                key,
                environment.id,
                api_key,
                jobs,
                "smoke-transfers",
            )
    finally:
        dynamo.reset()
        server.stop()


# Runs in the function's process: the handler as Lambda loads it, called once.
RUNNER = """
import importlib, json, sys
module, attribute = sys.argv[1].rsplit(".", 1)
handler = getattr(importlib.import_module(module), attribute)
class Context:
    function_name = "smoke"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:smoke"
    aws_request_id = "smoke-request"
    log_group_name = "/aws/lambda/smoke"
    log_stream_name = "smoke"
    def get_remaining_time_in_millis(self):
        return 30_000
event = json.loads(sys.stdin.read())
print("SMOKE-RESULT " + json.dumps(handler(event, Context())))
"""


def invoke(dev: Synthesized, venv: Path, aws: LocalAws, handler: str, event: dict[str, Any]) -> Any:
    logical_id = dev.function_id(handler)
    function = dev.template_json["Resources"][logical_id]
    asset = dev.outdir / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    assert asset.is_dir(), asset
    variables = function["Properties"].get("Environment", {}).get("Variables", {})
    environment = {
        name: value if isinstance(value, str) else aws.value_of(name)
        for name, value in variables.items()
    }
    environment |= {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "smoke",
        "AWS_SECRET_ACCESS_KEY": "smoke",
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        # Off AWS only: where moto's server stands in for DynamoDB, SQS, S3 and KMS.
        "DYNAMODB_ENDPOINT_URL": aws.endpoint_url,
        "SQS_ENDPOINT_URL": aws.endpoint_url,
        "S3_ENDPOINT_URL": aws.endpoint_url,
        "KMS_ENDPOINT_URL": aws.endpoint_url,
        "POWERTOOLS_METRICS_DISABLED": "1",
    }
    completed = subprocess.run(
        # -B: no __pycache__ written into the asset (it stays exactly as synthesized).
        [str(venv / "bin" / "python"), "-s", "-B", "-c", RUNNER, handler],
        input=json.dumps(event),
        cwd=asset,  # Lambda's /var/task: the asset alone, on the path
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results = [
        line.removeprefix("SMOKE-RESULT ")
        for line in completed.stdout.splitlines()
        if line.startswith("SMOKE-RESULT ")
    ]
    assert completed.returncode == 0 and results, (
        f"{handler} failed under Python {POWERTOOLS_LAYER.python} with the layer's packages:\n"
        f"{completed.stderr[-4000:]}"
    )
    return json.loads(results[0])


@pytest.fixture(scope="module")
def venv() -> Path:
    return layer_environment()


def test_the_environment_is_python_313_with_the_pinned_layer_packages(venv: Path) -> None:
    script = (
        "import sys, importlib.metadata as m; "
        "print(sys.version_info[:2], m.version('aws-lambda-powertools'), m.version('pydantic'))"
    )
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    packages = dict(POWERTOOLS_LAYER.packages)
    assert found[-2:] == [packages["aws-lambda-powertools"], packages["pydantic"]]
    assert "".join(found[:-2]) == "(3,13)"


def test_every_asset_imports_from_its_bytecode(dev: Synthesized, venv: Path) -> None:
    """Lambda cannot write /var/task, so source without bytecode compiles at every cold start.
    Each asset's handler imports with the asset's own source files broken: only its bytecode,
    compiled for the runtime's Python, can have loaded."""
    for route in DEPLOYED_FUNCTIONS:
        function = dev.template_json["Resources"][dev.function_id(route.handler)]
        key = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
        asset = dev.outdir / f"asset.{key}"
        broken = Path(tempfile.mkdtemp(prefix="waymark-bytecode-")) / "task"
        try:
            shutil.copytree(asset, broken)
            for source in broken.rglob("*.py"):
                source.write_text("raise SystemExit('compiled from source')\n")
            loaded = subprocess.run(
                [str(venv / "bin" / "python"), "-s", "-B", "-c", f"import {route.module}"],
                cwd=broken,
                env={"PATH": os.environ.get("PATH", ""), "AWS_REGION": REGION},
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            shutil.rmtree(broken.parent)
        assert loaded.returncode == 0, f"{route.name}: {loaded.stderr[-2000:]}"


def test_the_authorizer_allows_a_key_and_names_its_usage_plan_key(
    dev: Synthesized, venv: Path, local_aws: LocalAws
) -> None:
    event = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:000000000000:api/dev/GET/users",
        "resource": "/users",
        "path": "/users",
        "httpMethod": "GET",
        "headers": {"Authorization": f"Bearer {local_aws.api_key}"},
        "requestContext": {"requestId": "smoke-api-request", "stage": "dev"},
    }
    policy = invoke(dev, venv, local_aws, AUTHORIZER.handler, event)
    assert policy["context"] == {"environment_id": local_aws.environment_id}
    assert policy["usageIdentifierKey"] == f"waymark-usage-{local_aws.environment_id}"
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def _api_request(method: str, path: str, environment_id: str, body: Any = None) -> Any:
    """A proxy event as API Gateway sends it from its own URL: the stage in the path."""
    event = api_event(method, path, environment_id=environment_id, body=body)
    event["requestContext"] |= {"stage": "dev", "path": f"/dev{path}"}
    return event


# API functions without a list of their own answer another first request.
NOT_LISTS = {"users_bulk", "transfers", "usertour_v1"}


@pytest.mark.parametrize(
    "route",
    [route for route in API_FUNCTIONS if route.name not in NOT_LISTS],
    ids=lambda route: route.name,
)
def test_every_api_function_lists_its_objects(
    dev: Synthesized, venv: Path, local_aws: LocalAws, route: Any
) -> None:
    path = route.paths[0]
    response = invoke(
        dev, venv, local_aws, route.handler, _api_request("GET", path, local_aws.environment_id)
    )
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert body["object"] == "list"
    # Behind the default stage URL, pages carry the stage prefix.
    assert body["url"].startswith(f"/dev{path}")


def _api_function(name: str) -> Any:
    (route,) = [r for r in API_FUNCTIONS if r.name == name]
    return route


def test_bulk_upserts_and_usertour_v1_answer(
    dev: Synthesized, venv: Path, local_aws: LocalAws
) -> None:
    env = local_aws.environment_id
    request = _api_request("POST", "/users/bulk", env, {"users": [{"id": "smoke-bulk"}]})
    response = invoke(dev, venv, local_aws, _api_function("users_bulk").handler, request)
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["succeeded"] == 1
    # v1 runs the users handler bundled into its own asset.
    request = _api_request("GET", "/v1/users/smoke-bulk", env)
    request["resource"] = "/v1/users/{user_id}"
    request["pathParameters"] = {"user_id": "smoke-bulk"}
    response = invoke(dev, venv, local_aws, _api_function("usertour_v1").handler, request)
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["id"] == "smoke-bulk"


def test_an_export_job_runs_through_its_queue(
    dev: Synthesized, venv: Path, local_aws: LocalAws
) -> None:
    from infra.local.aws_services import client

    transfers = _api_function("transfers").handler
    env = local_aws.environment_id
    request = _api_request("POST", "/exports", env, {"object_type": "users"})
    response = invoke(dev, venv, local_aws, transfers, request)
    assert response["statusCode"] == 200, response
    job = json.loads(response["body"])
    (message,) = client("sqs", local_aws.endpoint_url).receive_message(
        QueueUrl=local_aws.jobs_queue_url, WaitTimeSeconds=1
    )["Messages"]
    record = _sqs_record(message["Body"], "smoke-jobs")
    result = invoke(dev, venv, local_aws, TRANSFER_JOBS.handler, {"Records": [record]})
    assert result == {"batchItemFailures": []}
    request = _api_request("GET", f"/exports/{job['id']}", env)
    request["resource"] = "/exports/{job_id}"
    request["pathParameters"] = {"job_id": job["id"]}
    done = json.loads(invoke(dev, venv, local_aws, transfers, request)["body"])
    assert done["status"] == "succeeded" and done["download_url"], done


def test_a_webhook_subscription_is_created_with_a_sealed_secret(
    dev: Synthesized, venv: Path, local_aws: LocalAws
) -> None:
    (route,) = [r for r in API_FUNCTIONS if r.name == "webhook_subscriptions"]
    request = _api_request(
        "POST",
        "/webhook_subscriptions",
        local_aws.environment_id,
        {"url": "https://example.com/hooks", "topics": ["user"]},
    )
    response = invoke(dev, venv, local_aws, route.handler, request)
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["secret"].startswith("whsec_")


def _sqs_record(body: str, queue: str) -> dict[str, Any]:
    """An SQS record as Lambda's event source mapping hands it over: a first receive."""
    return {
        "messageId": "m1",
        "receiptHandle": "r1",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:000000000000:{queue}",
        "awsRegion": REGION,
    }


def _stream_record(event_name: str, keys: dict[str, str], image: dict[str, Any]) -> Any:
    return {
        "eventID": "1",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": 1_700_000_000,
            "Keys": {name: {"S": value} for name, value in keys.items()},
            "NewImage": image,
            "SequenceNumber": "100",
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/smoke/stream/x",
    }


def test_the_stream_consumers_take_a_batch(
    dev: Synthesized, venv: Path, local_aws: LocalAws
) -> None:
    environment = local_aws.environment_id
    keys = {"PK": f"E#{environment}#U#smoke-user", "SK": "U"}
    image = {
        **{name: {"S": value} for name, value in keys.items()},
        "id": {"S": "smoke-user"},
        "created_at": {"S": "2026-01-01T00:00:00.000Z"},
        "attributes": {"M": {}},
    }
    batch = {"Records": [_stream_record("INSERT", keys, image)]}
    for route in (CASCADE, WEBHOOK_DISPATCH):
        assert invoke(dev, venv, local_aws, route.handler, batch) == {"batchItemFailures": []}


def test_delivery_takes_an_sqs_batch(dev: Synthesized, venv: Path, local_aws: LocalAws) -> None:
    from shared.webhooks.messages import DeliveryMessage

    message = DeliveryMessage(
        environment_id=local_aws.environment_id,
        subscription_id="gone",
        delivery_id="smoke-delivery",
        notification_id="smoke-notification",
        topic="user.created",
        body="{}",
        created_at="2026-01-01T00:00:00.000Z",
        window_started_at=1_700_000_000.0,
    )
    record = _sqs_record(message.to_json(), "smoke")
    result = invoke(dev, venv, local_aws, WEBHOOK_DELIVERY.handler, {"Records": [record]})
    assert result == {"batchItemFailures": []}  # a deleted subscription's: skipped


def test_the_probe_takes_its_scheduled_event(
    dev: Synthesized, venv: Path, local_aws: LocalAws
) -> None:
    event = {
        "version": "0",
        "id": "smoke",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "2026-01-01T00:00:00Z",
        "region": REGION,
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/smoke"],
        "detail": {},
    }
    assert invoke(dev, venv, local_aws, WEBHOOK_PROBE.handler, event) == {"outcomes": {}}


def test_every_function_of_the_template_is_smoke_tested(dev: Synthesized) -> None:
    tested = {route.handler for route in DEPLOYED_FUNCTIONS}
    deployed = {
        function["Properties"]["Handler"]
        for function in dev.resources("AWS::Lambda::Function").values()
    }
    assert deployed == tested
