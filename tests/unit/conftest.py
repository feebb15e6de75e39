"""Unit tests: no network; DynamoDB is moto, in process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from shared.store import dynamo, schema, tenancy
from shared.webhooks import sealing
from tests.support import api_event


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    import pytest_socket

    pytest_socket.disable_socket(allow_unix_socket=True)
    yield
    pytest_socket.enable_socket()


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TABLE_NAME", "waymark-unit")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("DYNAMODB_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("KMS_ENDPOINT_URL", raising=False)
    with mock_aws():
        import boto3

        # The key webhook secrets are sealed under (shared/webhooks/sealing.py).
        key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        monkeypatch.setenv("WEBHOOK_SECRETS_KEY_ID", key)
        dynamo.reset()
        sealing.reset()
        dynamo.client().create_table(**schema.create_table_arguments("waymark-unit"))
        yield "waymark-unit"
    dynamo.reset()
    sealing.reset()


@pytest.fixture
def environment(table: str) -> str:
    return tenancy.create_environment("Unit").id


@pytest.fixture
def queues(table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The webhook delivery queue, its dead-letter queue and the bodies bucket (moto)."""
    import boto3

    from shared.webhooks import bodies, queue

    sqs = boto3.client("sqs", region_name="us-east-1")
    urls = {
        "queue": sqs.create_queue(QueueName="deliveries")["QueueUrl"],
        "dead": sqs.create_queue(QueueName="deliveries-dead")["QueueUrl"],
    }
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="waymark-bodies-unit")
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", urls["queue"])
    monkeypatch.setenv("WEBHOOK_DEAD_LETTER_QUEUE_URL", urls["dead"])
    monkeypatch.setenv("WEBHOOK_BODIES_BUCKET", "waymark-bodies-unit")
    for name in ("SQS_ENDPOINT_URL", "S3_ENDPOINT_URL", "WAYMARK_WEBHOOKS_ALLOW_LOOPBACK"):
        monkeypatch.delenv(name, raising=False)
    queue.reset()
    bodies.reset()
    yield urls
    queue.reset()
    bodies.reset()


class LambdaContext:
    function_name = "unit"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:unit"
    aws_request_id = "unit-request"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


class Invoke:
    """Calls a handler module's lambda_handler like API Gateway would."""

    def __init__(self, handler: Any, environment_id: str) -> None:
        self.handler = handler
        self.environment_id = environment_id

    def __call__(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        event = api_event(method, path, environment_id=self.environment_id, **kwargs)
        response = self.handler(event, LambdaContext())
        return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def dynamodb_calls(table: str) -> list[str]:
    """The DynamoDB operations the code calls from here on, in order (e.g. "Query")."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    dynamo.client().meta.events.register("after-call.dynamodb.*", record)
    return calls
