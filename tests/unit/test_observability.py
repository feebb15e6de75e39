"""Every log line of an API request carries its request id (the envelope's `request_id`) and
the caller's environment; `url` and `next_page_url` work behind the default stage URL; a
function with an incomplete environment fails before doing anything."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any, cast

import pytest

from functions.users import handler as users_handler
from shared.observability import logger
from shared.settings import SettingsError, get_settings
from shared.store import users as users_store
from tests.support import api_event
from tests.unit.conftest import LambdaContext


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the functions' logger writes, formatted as in Lambda (JSON lines)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    stdlib = logging.getLogger(logger.name)
    stdlib.addHandler(handler)
    yield buffer
    stdlib.removeHandler(handler)


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def _call(event: dict[str, Any]) -> tuple[int, Any]:
    response = users_handler.lambda_handler(event, cast(Any, LambdaContext()))
    return response["statusCode"], json.loads(response["body"])


def test_log_lines_carry_the_request_id_and_the_environment(
    environment: str, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def get(environment_id: str, user_id: str) -> None:
        logger.info("looking up", extra={"user_id": user_id})

    monkeypatch.setattr(users_store, "get", get)
    event = api_event("GET", "/users/ada", environment_id=environment)
    event["pathParameters"] = {"user_id": "ada"}
    status, body = _call(event)
    assert status == 404
    (line,) = [line for line in _lines(log_lines) if line["message"] == "looking up"]
    assert line["correlation_id"] == body["error"]["request_id"]
    assert line["correlation_id"] == event["requestContext"]["requestId"]
    assert line["environment_id"] == environment
    assert line["function_request_id"] == LambdaContext.aws_request_id


def test_the_next_request_does_not_inherit_the_last_ones_keys(
    environment: str, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def get(environment_id: str, user_id: str) -> None:
        logger.info("looking up")

    monkeypatch.setattr(users_store, "get", get)
    _call(api_event("GET", "/users/ada", environment_id=environment))
    anonymous = api_event("GET", "/users/ada", environment_id=environment)
    anonymous["requestContext"]["authorizer"] = {}
    status, _ = _call(anonymous)
    assert status == 401
    logger.info("after")
    last = _lines(log_lines)[-1]
    assert last["correlation_id"] == anonymous["requestContext"]["requestId"]
    assert "environment_id" not in last


def test_pages_keep_the_stage_prefix_behind_the_default_stage_url(environment: str) -> None:
    for user_id in ("a", "b"):
        event = api_event("POST", "/users", environment_id=environment, body={"id": user_id})
        assert _call(event)[0] == 200
    event = api_event("GET", "/users", environment_id=environment, query="limit=1")
    event["requestContext"]["path"] = "/prod/users"  # as API Gateway gives it on its own URL
    status, page = _call(event)
    assert status == 200
    assert page["url"] == "/prod/users?limit=1"
    assert page["next_page_url"] == "/prod/users?limit=1&starting_after=a"


def test_behind_a_custom_domain_pages_are_the_resource_paths(environment: str) -> None:
    event = api_event("GET", "/users", environment_id=environment, query="limit=1")
    event["requestContext"]["path"] = "/users"
    status, page = _call(event)
    assert status == 200 and page["url"] == "/users?limit=1"


def test_a_function_without_its_table_fails_before_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match="TABLE_NAME"):
            users_handler.lambda_handler(
                api_event("GET", "/users", environment_id="env_x"), cast(Any, LambdaContext())
            )
    finally:
        get_settings.cache_clear()


def test_publishing_with_metrics_disabled_keeps_nothing_and_prints_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Locally metrics are disabled and there may be no namespace: invocations must not pile
    values up until Powertools prints them itself at 100 (and fails without a namespace)."""
    from aws_lambda_powertools.metrics import MetricUnit

    from shared.observability import new_metrics, publish

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    metrics = new_metrics()
    for _ in range(150):  # one value an invocation, past Powertools' 100
        metrics.add_metric(name="DeliverySucceeded", unit=MetricUnit.Count, value=1)
        publish(metrics)
    assert metrics.metric_set == {}
    assert capsys.readouterr().out == ""
