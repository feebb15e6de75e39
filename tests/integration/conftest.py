"""Integration tests: the local stack over real HTTP, on DynamoDB Local (in memory).

One stack per test session (DynamoDB Local, the table, the API on a free port, the stream
poller); each test gets fresh environments, so tests never see each other's data.
"""

from __future__ import annotations

import http.client
import json as jsonlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode, urlsplit

import pytest

from infra.local.dev import LocalStack
from tests.support import kept_environment

API_VERSION = "2020-01-03"
TABLE_NAME = "waymark-integration"
ENVIRONMENT_VARIABLES = (
    "TABLE_NAME",
    "DYNAMODB_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "SQS_ENDPOINT_URL",
    "WEBHOOK_QUEUE_URL",
    "WEBHOOK_DEAD_LETTER_QUEUE_URL",
    "WEBHOOK_BODIES_BUCKET",
    "TRANSFERS_BUCKET",
    "JOBS_QUEUE_URL",
    "S3_ENDPOINT_URL",
    "KMS_ENDPOINT_URL",
    "WEBHOOK_SECRETS_KEY_ID",
    "WAYMARK_WEBHOOKS_ALLOW_LOOPBACK",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_METRICS_DISABLED",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class ApiClient:
    """A plain HTTP client for the local API, sending what a Userflow client sends.

    `request(..., headers={"Authorization": None})` drops a default header.
    """

    def __init__(self, base_url: str, api_key: str | None, environment_id: str | None = None):
        self.base_url = base_url
        self.api_key = api_key
        self.environment_id = environment_id
        split = urlsplit(base_url)
        self.host = split.hostname or "127.0.0.1"
        self.port = split.port or 80

    @property
    def environment(self) -> str:
        """The environment this client's key belongs to (clients made by `new_environment`)."""
        assert self.environment_id is not None, "an anonymous client has no environment"
        return self.environment_id

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        query: list[tuple[str, str]] | None = None,
        headers: dict[str, str | None] | None = None,
        *,
        body: bytes | None = None,
    ) -> ApiResponse:
        if path.startswith(("http://", "https://")):
            split = urlsplit(path)
            path = split.path + (f"?{split.query}" if split.query else "")
        if query:
            path += ("&" if "?" in path else "?") + urlencode(query)
        sent: dict[str, str | None] = {
            "Userflow-Version": API_VERSION,
            "Accept": "application/json",
        }
        if self.api_key is not None:
            sent["Authorization"] = f"Bearer {self.api_key}"
        if json is not None:
            body = jsonlib.dumps(json).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(
                method,
                path,
                body=body,
                headers={name: value for name, value in sent.items() if value is not None},
            )
            response = connection.getresponse()
            return ApiResponse(response.status, response.headers, response.read())
        finally:
            connection.close()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """DynamoDB Local in memory + table + API on a free port + stream poller, for the session."""
    logs = tmp_path_factory.mktemp("local-stack")
    worker_output: IO[bytes] = (logs / "functions.log").open("ab")
    stack = LocalStack(
        port=0,
        table_name=TABLE_NAME,
        dynamodb_log=logs / "dynamodb.log",
        worker_output=worker_output,
    )
    with kept_environment(ENVIRONMENT_VARIABLES):
        stack.start()  # sets TABLE_NAME/DYNAMODB_ENDPOINT_URL and resets the store's caches
        try:
            yield stack
        finally:
            stack.stop()
            worker_output.close()
    from shared.store import dynamo

    dynamo.reset()


NewEnvironment = Callable[..., ApiClient]


@pytest.fixture
def new_environment(local_stack: LocalStack) -> NewEnvironment:
    """Factory: a fresh environment with its own API key, as an ApiClient."""
    from shared.store import tenancy

    def create(name: str = "Integration") -> ApiClient:
        environment = tenancy.create_environment(name)
        _, plain_key = tenancy.create_api_key(environment.id)
        return ApiClient(local_stack.url, plain_key, environment.id)

    return create


@pytest.fixture
def api(new_environment: NewEnvironment) -> ApiClient:
    return new_environment("Integration")


@pytest.fixture
def other_api(new_environment: NewEnvironment) -> ApiClient:
    return new_environment("Integration (other tenant)")


@pytest.fixture
def anonymous(local_stack: LocalStack) -> ApiClient:
    """A client that sends no API key."""
    return ApiClient(local_stack.url, None)


@pytest.fixture
def wait_for_streams(local_stack: LocalStack) -> Callable[[], None]:
    """Call after a write whose stream consumers (cascade) must have run before asserting.

    Returns once a whole poll pass that began after the call found nothing new: the first
    idle signal may come from a pass already under way, so wait for two.
    """

    def wait(timeout: float = 30.0) -> None:
        local_stack.wait_idle(timeout)
        local_stack.wait_idle(timeout)

    return wait
