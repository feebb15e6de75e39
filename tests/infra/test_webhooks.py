"""Webhooks: the table stream feeds dispatch, dispatch fills the delivery queue, delivery drains
it with backoff, and what is given up on (or crash-loops) lands on a dead-letter queue."""

from __future__ import annotations

import ast
import inspect
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

import functions.webhook_delivery.handler as delivery_handler
from functions.webhook_dispatch.handler import DISPATCH_FILTER
from infra.constructs.webhooks import (
    DELIVERY_OUTCOMES,
    WEBHOOK_DELIVERY,
    WEBHOOK_DISPATCH,
    WEBHOOK_PROBE,
)
from shared.services import backlogs, probing
from shared.services import delivery as delivery_service
from shared.services.delivery import RetryLater
from shared.settings import LOCAL_ONLY_VARIABLES, Variables, get_settings
from shared.store.deliveries import DELIVERY_LOG_TTL_SECONDS
from shared.webhooks import bodies, sender
from shared.webhooks import queue as queue_module
from shared.webhooks.backoff import DELIVERY_WINDOW, MAX_DELAY, retry_delay
from tests.infra.conftest import Synthesized
from tests.support import NO_CONTEXT

DAY = 24 * 3600


def _resource(dev: Synthesized, logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = dev.template_json["Resources"][logical_id]["Properties"]
    return properties


def _queue(dev: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    logical_id = dev.logical_id(getattr(dev.stack.webhooks, name))
    return logical_id, _resource(dev, logical_id)


def _function(dev: Synthesized, handler: str) -> dict[str, Any]:
    return _resource(dev, dev.function_id(handler))


def _mapping(dev: Synthesized, handler: str) -> dict[str, Any]:
    function_ref = {"Ref": dev.function_id(handler)}
    (mapping,) = [
        mapping["Properties"]
        for mapping in dev.resources("AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["FunctionName"] == function_ref
    ]
    properties: dict[str, Any] = mapping
    return properties


# --- queues --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["queue", "dead_letter_queue", "dispatch_failures"])
def test_queues_are_encrypted_and_ssl_only(dev: Synthesized, name: str) -> None:
    queue_id, queue = _queue(dev, name)
    assert queue["SqsManagedSseEnabled"] is True
    (policy,) = [
        policy["Properties"]
        for policy in dev.resources("AWS::SQS::QueuePolicy").values()
        if policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == "sqs:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_delivery_queue_keeps_a_message_for_its_whole_retry_window(dev: Synthesized) -> None:
    _, queue = _queue(dev, "queue")
    # A message retried until the end of the 3-day window may then wait one more maximal
    # postponement before its last attempt: it must not expire in between.
    assert queue["MessageRetentionPeriod"] == 4 * DAY
    assert queue["MessageRetentionPeriod"] >= (DELIVERY_WINDOW + MAX_DELAY).total_seconds()
    # The code's cap on a postponement is SQS's, and the backoff schedule's.
    assert queue_module.MAX_VISIBILITY_SECONDS == MAX_DELAY.total_seconds() == 12 * 3600


def test_delivery_queue_visibility_covers_six_function_timeouts(dev: Synthesized) -> None:
    _, queue = _queue(dev, "queue")
    timeout = _function(dev, WEBHOOK_DELIVERY.handler)["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout


def _most_attempts_in_the_window() -> int:
    """Attempts a message gets when every retry waits the shortest delay the schedule allows."""

    class NoJitter(random.Random):
        def random(self) -> float:
            return 0.0

    now, attempt = 0.0, 1
    while (
        delay := retry_delay(
            attempt, first_attempt_at=0.0, now=now, retry_after=None, rng=NoJitter()
        )
    ) is not None:
        now += delay
        attempt += 1
    return attempt


def test_redrive_is_a_backstop_the_backoff_schedule_never_reaches(dev: Synthesized) -> None:
    _, queue = _queue(dev, "queue")
    dead_letters_id, _ = _queue(dev, "dead_letter_queue")
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [dead_letters_id, "Arn"]}
    most_attempts = _most_attempts_in_the_window()
    assert 15 <= most_attempts <= 25  # ~20 attempts in 3 days
    # Well above, so only a crash loop (never an outcome recorded) moves a message there.
    assert redrive["maxReceiveCount"] >= 2 * most_attempts


@pytest.mark.parametrize("name", ["dead_letter_queue", "dispatch_failures"])
def test_dead_letter_queues_keep_messages_14_days(dev: Synthesized, name: str) -> None:
    _, queue = _queue(dev, name)
    assert queue["MessageRetentionPeriod"] == 14 * DAY
    assert "RedrivePolicy" not in queue


# --- dispatch ------------------------------------------------------------------------------


def test_the_table_stream_triggers_dispatch_from_the_trim_horizon(dev: Synthesized) -> None:
    (table_id,) = dev.resources("AWS::DynamoDB::Table")
    mapping = _mapping(dev, WEBHOOK_DISPATCH.handler)
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"


def test_only_users_groups_and_events_reach_dispatch(dev: Synthesized) -> None:
    (only,) = _mapping(dev, WEBHOOK_DISPATCH.handler)["FilterCriteria"]["Filters"]
    pattern = json.loads(only["Pattern"])
    assert pattern == DISPATCH_FILTER
    # Spelled out: every change (insert, modify, remove) of a user, a group or an event item.
    assert "eventName" not in pattern
    assert pattern["dynamodb"]["Keys"]["SK"]["S"] == ["U", "G", {"prefix": "EV#"}]


def test_dispatch_reports_item_failures_bisects_and_retries_boundedly(dev: Synthesized) -> None:
    mapping = _mapping(dev, WEBHOOK_DISPATCH.handler)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 20
    assert 0 < mapping["MaximumRecordAgeInSeconds"] < DAY  # parked while still readable
    assert 0 < mapping["BatchSize"] <= 1000


def test_dispatch_failures_go_to_their_own_queue(dev: Synthesized) -> None:
    failures_id, _ = _queue(dev, "dispatch_failures")
    dead_letters_id, _ = _queue(dev, "dead_letter_queue")
    destination = _mapping(dev, WEBHOOK_DISPATCH.handler)["DestinationConfig"]["OnFailure"]
    assert destination["Destination"] == {"Fn::GetAtt": [failures_id, "Arn"]}
    assert failures_id != dead_letters_id


# --- delivery ------------------------------------------------------------------------------


def test_the_delivery_queue_triggers_delivery_ten_at_a_time(dev: Synthesized) -> None:
    queue_id, _ = _queue(dev, "queue")
    mapping = _mapping(dev, WEBHOOK_DELIVERY.handler)
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # Headroom for receivers that hang until their circuit opens (see WebhookSettings).
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 50}
    # Deliveries should not wait for a fuller batch.
    assert mapping.get("MaximumBatchingWindowInSeconds", 0) == 0


def test_delivery_has_time_for_a_batch_of_slow_receivers(dev: Synthesized) -> None:
    function = _function(dev, WEBHOOK_DELIVERY.handler)
    assert function["Timeout"] == 60
    # The batch is posted concurrently, each cut at the sender's timeout; the rest is
    # DynamoDB and SQS calls. Two full timeouts back to back still fit.
    assert function["Timeout"] >= 2 * sender.TIMEOUT_SECONDS + 15


def test_webhook_functions_reach_the_internet_directly(dev: Synthesized) -> None:
    for route in (WEBHOOK_DISPATCH, WEBHOOK_DELIVERY):
        assert "VpcConfig" not in _function(dev, route.handler), route.name


# --- environment ---------------------------------------------------------------------------


def test_local_only_switches_are_never_deployed(dev: Synthesized) -> None:
    assert Variables.WEBHOOKS_ALLOW_LOOPBACK in LOCAL_ONLY_VARIABLES
    assert Variables.WEBHOOK_BACKOFF_SCALE in LOCAL_ONLY_VARIABLES
    functions = dev.resources("AWS::Lambda::Function")
    assert len(functions) >= 10
    for logical_id, function in functions.items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert not set(variables) & set(LOCAL_ONLY_VARIABLES), logical_id


def test_queue_urls_are_the_variables_settings_reads(dev: Synthesized) -> None:
    delivery = _function(dev, WEBHOOK_DELIVERY.handler)["Environment"]["Variables"]
    for name in (Variables.WEBHOOK_QUEUE_URL, Variables.WEBHOOK_DEAD_LETTER_QUEUE_URL):
        assert name in delivery


# --- the custom metrics the success rate is computed from ------------------------------------


def _deliver_results() -> set[str]:
    """The string results `deliver()` can return, read from its source."""
    tree = ast.parse(inspect.getsource(delivery_service.deliver))
    return {
        node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Return)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


@pytest.fixture
def clean_metrics(dev: Synthesized, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The delivery handler as the stack configures it: its environment (Powertools reads
    the namespace and service there, at import), a clean metric set."""
    variables = _function(dev, WEBHOOK_DELIVERY.handler)["Environment"]["Variables"]
    monkeypatch.setenv(Variables.TABLE_NAME, "unused")
    monkeypatch.setenv(Variables.REGION, "us-east-1")
    monkeypatch.setattr(
        delivery_handler.metrics, "namespace", variables[Variables.METRICS_NAMESPACE]
    )
    monkeypatch.setattr(delivery_handler.metrics, "service", variables[Variables.SERVICE_NAME])
    get_settings.cache_clear()
    delivery_handler.metrics.clear_metrics()
    yield
    delivery_handler.metrics.clear_metrics()
    get_settings.cache_clear()


def _record() -> SQSRecord:
    return SQSRecord(
        {
            "messageId": "m-1",
            "receiptHandle": "handle",
            "body": "{}",
            "attributes": {"ApproximateReceiveCount": "1"},
        }
    )


FAILED_ATTEMPT = {"error": "HTTP 500"}  # a RetryLater's details


def _emit(monkeypatch: pytest.MonkeyPatch, outcome: str | dict[str, Any]) -> None:
    def deliver(body: str, receipt_handle: str, attempt: int) -> str:
        if isinstance(outcome, dict):
            raise RetryLater(outcome)
        return outcome

    monkeypatch.setattr(delivery_handler, "deliver", deliver)
    delivery_handler.lambda_handler({"Records": [_record().raw_event]}, NO_CONTEXT)


def test_deliver_results_are_the_ones_the_metrics_know() -> None:
    assert _deliver_results() == {"succeeded", "skipped", "backlogged", "dead"}


def test_the_handler_emits_the_metrics_the_success_rate_reads(
    monkeypatch: pytest.MonkeyPatch, clean_metrics: None
) -> None:
    assert delivery_handler.metrics.namespace == DELIVERY_OUTCOMES.namespace
    assert delivery_handler.metrics.service == DELIVERY_OUTCOMES.service
    emitted: set[str] = set()
    real_flush = delivery_handler.metrics.flush_metrics

    def flush(*args: Any, **kwargs: Any) -> None:
        emitted.update(delivery_handler.metrics.metric_set)
        real_flush(*args, **kwargs)

    monkeypatch.setattr(delivery_handler.metrics, "flush_metrics", flush)
    outcomes: list[str | dict[str, Any]] = [*_deliver_results(), FAILED_ATTEMPT]
    for outcome in outcomes:
        _emit(monkeypatch, outcome)
    known = {DELIVERY_OUTCOMES.succeeded, *DELIVERY_OUTCOMES.failed, *DELIVERY_OUTCOMES.graphed}
    assert emitted == known


# --- large notifications and failing receivers ----------------------------------------------


def test_the_bodies_bucket_is_private_encrypted_ssl_only_and_expires_after_the_log(
    dev: Synthesized,
) -> None:
    properties = dev.private_bucket(dev.stack.webhooks.bodies)
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    # Resend and recover read a large body back for as long as the delivery log keeps it.
    assert rule["ExpirationInDays"] == 35 > DELIVERY_LOG_TTL_SECONDS // DAY


def test_a_queue_message_carries_at_most_the_inline_limit(dev: Synthesized) -> None:
    _, queue = _queue(dev, "queue")
    # Whatever the queue's own maximum, messages stay far below SQS's oldest 256 KiB limit.
    assert queue.get("MaximumMessageSize", 262_144) >= 2 * bodies.INLINE_LIMIT
    assert queue_module.BATCH_BYTES <= 262_144


def test_the_probe_runs_every_minute_with_the_time_for_a_full_run(dev: Synthesized) -> None:
    probe_id = dev.function_id(WEBHOOK_PROBE.handler)
    (rule,) = dev.resources("AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [probe_id, "Arn"]}
    timeout = _function(dev, WEBHOOK_PROBE.handler)["Timeout"]
    rounds = probing.DUE_PER_RUN / probing.PARALLEL_PROBES
    assert timeout >= rounds * sender.TIMEOUT_SECONDS + 60
    # A probe's lease outlasts a probe, so a second run never takes a receiver being probed.
    assert backlogs.LEASE_SECONDS > sender.TIMEOUT_SECONDS + 30
