"""Unit tests: no network; DynamoDB is moto, in process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from moto import mock_aws

from shared.store import dynamo, schema, tenancy
from shared.webhooks import sealing


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


def api_event(
    method: str,
    path: str,
    *,
    environment_id: str,
    body: Any = None,
    query: str = "",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event as the authorizer-protected API would send it."""
    multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        multi.setdefault(name, []).append(value)
    all_headers = {"Userflow-Version": "2020-01-03", **(headers or {})}
    if body is not None and "Content-Type" not in all_headers:
        all_headers["Content-Type"] = "application/json"
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": None,
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "test",
            "httpMethod": method,
            "path": path,
            "authorizer": {"principalId": environment_id, "environment_id": environment_id},
        },
    }


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
