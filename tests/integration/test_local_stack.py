"""The local stack itself: what API Gateway does in front of the functions, and `make dev`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from infra.local.dev import LocalStack
from infra.local.dynamodb_local import DynamoDBLocal, DynamoDBLocalError, ensure_table, free_port
from infra.local.server import LocalApi
from infra.routes import FunctionRoute
from tests.integration.conftest import ApiClient

REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = "tests.integration.test_local_stack"


def assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["x-amzn-RequestId"]
    return error


# --- API Gateway's own answers ------------------------------------------------------------


def test_missing_key_is_a_401_envelope(anonymous: ApiClient) -> None:
    error = assert_envelope(anonymous.request("GET", "/users"), 401, "invalid_api_key")
    assert "Authorization: Bearer" in error["message"]


def test_unknown_key_is_a_401_from_the_authorizer(local_stack: LocalStack) -> None:
    stranger = ApiClient(local_stack.url, "ak_thisisnotakeythisisnotakey0000")
    error = assert_envelope(stranger.request("GET", "/users"), 401, "invalid_api_key")
    assert error["message"] == "Invalid API key provided."


def test_a_key_that_is_not_a_bearer_token_is_rejected(api: ApiClient) -> None:
    response = api.request("GET", "/users", headers={"Authorization": f"Basic {api.api_key}"})
    assert_envelope(response, 401, "invalid_api_key")


def test_unknown_path_is_a_404_envelope_even_without_a_key(
    api: ApiClient, anonymous: ApiClient
) -> None:
    assert_envelope(api.request("GET", "/nowhere"), 404, "not_found")
    assert_envelope(anonymous.request("POST", "/users/a/b"), 404, "not_found")


def test_wrong_method_is_a_405_from_the_function(api: ApiClient) -> None:
    response = api.request("PATCH", "/users/someone")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_bad_userflow_version_is_a_400(api: ApiClient) -> None:
    response = api.request("GET", "/users", headers={"Userflow-Version": "2019-01-01"})
    error = assert_envelope(response, 400, "invalid_version")
    assert "2020-01-03" in error["message"]


def test_a_body_that_is_too_large_is_a_413(api: ApiClient) -> None:
    body = b"x" * (6 * 1024 * 1024 + 1)
    response = api.request("POST", "/users", body=body, headers={"Content-Type": "text/plain"})
    assert_envelope(response, 413, "invalid_request")


def test_an_oversized_url_is_a_413_envelope(api: ApiClient) -> None:
    response = api.request("GET", "/users", query=[("condition", "x" * 70_000)])
    assert_envelope(response, 413, "invalid_request")


# --- the proxy integration, with test functions -------------------------------------------


def echo_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "X-Single": "one"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps(
            {"event": event, "pid": os.getpid(), "request_id": context.aws_request_id}
        ),
        "isBase64Encoded": False,
    }


def slow_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.time()
    time.sleep(0.6)
    return {
        "statusCode": 200,
        "body": json.dumps({"pid": os.getpid(), "started": started, "ended": time.time()}),
    }


def failing_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("the handler failed")


def malformed_handler(event: dict[str, Any], context: Any) -> Any:
    return "not a proxy response"


TEST_FUNCTIONS = (
    FunctionRoute("echo", f"{HERE}.echo_handler", ("/echo/{thing_id}",)),
    FunctionRoute("slow", f"{HERE}.slow_handler", ("/slow",)),
    FunctionRoute("failing", f"{HERE}.failing_handler", ("/failing",)),
    FunctionRoute("malformed", f"{HERE}.malformed_handler", ("/malformed",)),
)


@pytest.fixture(scope="module")
def test_api(local_stack: LocalStack) -> Iterator[LocalApi]:
    """A second local API serving the test functions above (same authorizer and table)."""
    with LocalApi(port=0, functions=TEST_FUNCTIONS, max_workers=4) as server:
        yield server


@pytest.fixture
def test_client(test_api: LocalApi, api: ApiClient) -> ApiClient:
    return ApiClient(test_api.url, api.api_key, api.environment_id)


def test_the_function_gets_an_api_gateway_rest_proxy_event(test_client: ApiClient) -> None:
    response = test_client.request(
        "POST",
        "/echo/a%20b%2Bc",
        json={"hello": "world"},
        query=[("tag", "x"), ("tag", "y"), ("empty", ""), ("plus", "a+b c")],
        headers={"X-Twice": "1"},
    )
    assert response.status == 201
    assert response.headers["X-Single"] == "one"
    assert response.headers.get_all("X-Multi") == ["a", "b"]
    answer = response.json()
    event = answer["event"]
    assert event["httpMethod"] == "POST"
    assert event["resource"] == "/echo/{thing_id}"
    # As API Gateway's REST API: the path and its parameters still percent-encoded, the query
    # string decoded (see build_event for the source).
    assert event["path"] == "/echo/a%20b%2Bc"
    assert event["pathParameters"] == {"thing_id": "a%20b%2Bc"}
    # Served at the root, as behind a custom domain mapped at the root: no stage in the path.
    assert event["requestContext"]["path"] == "/echo/a%20b%2Bc"
    assert event["queryStringParameters"] == {"tag": "y", "empty": "", "plus": "a+b c"}
    assert event["multiValueQueryStringParameters"] == {
        "tag": ["x", "y"],
        "empty": [""],
        "plus": ["a+b c"],
    }
    assert event["headers"]["Userflow-Version"] == "2020-01-03"
    assert event["multiValueHeaders"]["X-Twice"] == ["1"]
    assert json.loads(event["body"]) == {"hello": "world"}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] == answer["request_id"] == response.headers["x-amzn-RequestId"]
    assert context["stage"] == "local"
    assert context["resourcePath"] == "/echo/{thing_id}"
    assert context["authorizer"]["environment_id"] == test_client.environment_id
    assert context["authorizer"]["principalId"] == test_client.environment_id


def test_requests_run_concurrently_in_separate_workers(test_client: ApiClient) -> None:
    def burst() -> list[Any]:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda _: test_client.request("GET", "/slow"), range(4)))

    burst()  # cold starts: workers start on demand, up to max_workers
    responses = burst()
    assert [r.status for r in responses] == [200] * 4
    runs = [r.json() for r in responses]
    assert len({run["pid"] for run in runs}) == 4
    # All four were in their handler at the same moment.
    assert max(run["started"] for run in runs) < min(run["ended"] for run in runs)


def test_a_handler_exception_is_a_502_envelope_and_the_worker_survives(
    test_client: ApiClient, test_api: LocalApi
) -> None:
    assert_envelope(test_client.request("GET", "/failing"), 502, "internal_error")
    pids = test_api.pools["failing"].worker_pids()
    assert_envelope(test_client.request("GET", "/failing"), 502, "internal_error")
    assert test_api.pools["failing"].worker_pids() == pids


def test_a_function_past_its_timeout_is_a_504_and_its_worker_is_replaced(
    local_stack: LocalStack, api: ApiClient
) -> None:
    with LocalApi(port=0, functions=TEST_FUNCTIONS, timeout=0.2) as impatient:
        client = ApiClient(impatient.url, api.api_key)
        assert_envelope(client.request("GET", "/slow"), 504, "internal_error")
        assert impatient.pools["slow"].worker_pids() == []


def test_a_malformed_proxy_response_is_a_502_envelope(test_client: ApiClient) -> None:
    assert_envelope(test_client.request("GET", "/malformed"), 502, "internal_error")


def test_without_java_it_falls_back_to_moto_or_says_what_is_missing() -> None:
    local = DynamoDBLocal(java="")
    try:
        import flask  # noqa: F401  (moto's server needs it: moto[server])
    except ImportError:
        with pytest.raises(DynamoDBLocalError, match=r"moto\[server\]"):
            local.start()
        return
    with local:
        assert local.engine == "moto"
        assert ensure_table(local.endpoint_url, "fallback-table")


# --- `make dev` ---------------------------------------------------------------------------


def _children(pid: int) -> set[tuple[int, str]]:
    """(pid, start time) of a process's children, from every process's parent in /proc.

    Not from /proc/<pid>/task/*/children: that lists a child under the thread that started
    it, and with threads coming and going (the local stack's pollers and servers) a child can
    move between threads while they are read.
    """
    found: set[tuple[int, str]] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that just ended
        if int(fields[1]) == pid:
            found.add((int(entry.name), fields[19]))
    return found


def _start_time(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        return ""


def _alive(process: tuple[int, str]) -> bool:
    pid, started = process
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return _start_time(pid) == started and state != "Z"


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class DevProcess:
    def __init__(self, local_dir: Path, port: int) -> None:
        self.state_path = local_dir / "dev.json"
        self.output = local_dir.parent / f"dev-{port}-{time.monotonic_ns()}.log"
        env = {**os.environ, "PORT": str(port), "WAYMARK_LOCAL_DIR": str(local_dir)}
        for name in ("TABLE_NAME", "DYNAMODB_ENDPOINT_URL"):
            env.pop(name, None)
        self.previous_state = self._state_version()
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "infra.local.dev"],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> dict[str, Any]:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"make dev exited early:\n{self.output.read_text()}")
            return self._state_version() not in {None, self.previous_state}

        _wait_for(ready, 90, "dev.json")
        state: dict[str, Any] = json.loads(self.state_path.read_text())
        return state

    def _state_version(self) -> tuple[int, int] | None:
        """dev.json is replaced atomically on every start: a new inode means a new state."""
        try:
            stat = self.state_path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def test_make_dev_serves_keeps_its_data_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    local_dir = tmp_path / "local"
    port = free_port()

    first = DevProcess(local_dir, port)
    try:
        state = first.wait_ready()
        assert set(state) == {
            "url",
            "api_key",
            "environment_id",
            "dynamodb_endpoint_url",
            "table_name",
            "kms_endpoint_url",
            "webhook_secrets_key_id",
        }
        assert state["url"] == f"http://127.0.0.1:{port}"
        client = ApiClient(state["url"], state["api_key"])
        created = client.request("POST", "/users", json={"id": "kept", "attributes": {"n": 1}})
        assert created.status == 200, created.text
        children = _children(first.process.pid)
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid, _ in children]
        assert any(b"DynamoDBLocal.jar" in command for command in commands)
        assert any(b"--worker" in command for command in commands)
        assert first.interrupt() == 0
    finally:
        first.kill()
    _wait_for(lambda: not any(_alive(child) for child in children), 10, "no child left")
    assert f"Bearer {state['api_key']}" in first.output.read_text()

    # A restart keeps the data and the key.
    second = DevProcess(local_dir, port)
    try:
        restarted = second.wait_ready()
        assert restarted["api_key"] == state["api_key"]
        assert restarted["environment_id"] == state["environment_id"]
        # The same secrets key: webhook secrets sealed before the restart still open.
        assert restarted["webhook_secrets_key_id"] == state["webhook_secrets_key_id"]
        client = ApiClient(restarted["url"], restarted["api_key"])
        assert client.request("GET", "/users/kept").json()["attributes"] == {"n": 1}
        children = _children(second.process.pid)
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(30) == 0
    finally:
        second.kill()
    _wait_for(lambda: not any(_alive(child) for child in children), 10, "no child left")
