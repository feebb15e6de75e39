"""Operators get dashboards, and alarms on every function, the API, the stream consumers, the
queues and dead-letter queues, the webhook delivery success rate and the table; every alarm
notifies the one encrypted topic."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constructs.cascade import CASCADE
from infra.constructs.webhooks import (
    DELIVERY_OUTCOMES,
    WEBHOOK_DELIVERY,
    WEBHOOK_DISPATCH,
    WEBHOOK_PROBE,
)
from infra.routes import API_FUNCTIONS, AUTHORIZER, FunctionRoute
from tests.infra.conftest import Synthesized

ALL_FUNCTIONS = (
    *API_FUNCTIONS,
    AUTHORIZER,
    CASCADE,
    WEBHOOK_DISPATCH,
    WEBHOOK_DELIVERY,
    WEBHOOK_PROBE,
)


def _alarms(dev: Synthesized) -> list[dict[str, Any]]:
    return [alarm["Properties"] for alarm in dev.resources("AWS::CloudWatch::Alarm").values()]


def _dimension(alarm: dict[str, Any], name: str) -> Any:
    """The value of one metric dimension, for simple and math-expression alarms alike."""
    dimensions = list(alarm.get("Dimensions", []))
    for metric in alarm.get("Metrics", []):
        stat = metric.get("MetricStat")
        if stat:
            dimensions += stat["Metric"].get("Dimensions", [])
    values = [d["Value"] for d in dimensions if d["Name"] == name]
    return values[0] if values else None


def _metric_names(alarm: dict[str, Any]) -> set[str]:
    names = {alarm["MetricName"]} if "MetricName" in alarm else set()
    for metric in alarm.get("Metrics", []):
        if "MetricStat" in metric:
            names.add(metric["MetricStat"]["Metric"]["MetricName"])
    return names


def _topic_id(dev: Synthesized) -> str:
    (topic_id,) = dev.resources("AWS::SNS::Topic")
    return topic_id


def test_three_dashboards_named_after_the_stage(dev: Synthesized) -> None:
    names = {
        dashboard["Properties"]["DashboardName"]
        for dashboard in dev.resources("AWS::CloudWatch::Dashboard").values()
    }
    assert names == {"waymark-dev", "waymark-dev-Summary", "waymark-dev-Alarms"}


def test_every_alarm_notifies_the_topic(dev: Synthesized) -> None:
    alarms = _alarms(dev)
    assert alarms
    for alarm in alarms:
        assert alarm["AlarmName"].startswith("waymark-dev-"), alarm["AlarmName"]
        assert alarm["ActionsEnabled"] is True
        assert alarm["AlarmActions"] == [{"Ref": _topic_id(dev)}], alarm["AlarmName"]


def test_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(dev: Synthesized) -> None:
    topic = dev.template_json["Resources"][_topic_id(dev)]["Properties"]
    (key_id,) = dev.resources("AWS::KMS::Key")
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = dev.template_json["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    cloudwatch = [
        statement
        for statement in key["KeyPolicy"]["Statement"]
        if statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    (statement,) = cloudwatch
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


@pytest.mark.parametrize("route", ALL_FUNCTIONS, ids=lambda route: route.name)
def test_every_function_alarms_on_errors_throttles_and_latency(
    dev: Synthesized, route: FunctionRoute
) -> None:
    function_ref = {"Ref": dev.function_id(route.handler)}
    metrics: set[str] = set()
    for alarm in _alarms(dev):
        if _dimension(alarm, "FunctionName") == function_ref:
            metrics |= _metric_names(alarm)
    assert {"Errors", "Throttles", "Duration"} <= metrics, metrics


def test_stream_iterator_age_alarm_on_each_stream_consumer(dev: Synthesized) -> None:
    consumers = [{"Ref": dev.function_id(route.handler)} for route in (CASCADE, WEBHOOK_DISPATCH)]
    iterator_alarms = [a for a in _alarms(dev) if "IteratorAge" in _metric_names(a)]
    found = [_dimension(a, "FunctionName") for a in iterator_alarms]
    assert sorted(found, key=str) == sorted(consumers, key=str)


def _queue_alarms(dev: Synthesized, queue_id: str) -> list[dict[str, Any]]:
    return [
        alarm
        for alarm in _alarms(dev)
        if _dimension(alarm, "QueueName") == {"Fn::GetAtt": [queue_id, "QueueName"]}
    ]


def test_any_message_on_a_dead_letter_queue_alarms(dev: Synthesized) -> None:
    dead_letter_queues = {
        "cascade": dev.stack.cascade.dead_letter_queue,
        "webhook dispatch": dev.stack.webhooks.dispatch_failures,
        "webhook delivery": dev.stack.webhooks.dead_letter_queue,
        "transfer jobs": dev.stack.transfers.dead_letter_queue,
    }
    # Besides them: the webhook delivery queue and the jobs queue.
    assert len(dev.resources("AWS::SQS::Queue")) == len(dead_letter_queues) + 2
    for name, queue in dead_letter_queues.items():
        (alarm,) = _queue_alarms(dev, dev.logical_id(queue))
        assert _metric_names(alarm) == {"ApproximateNumberOfMessagesVisible"}, name
        assert alarm["Threshold"] == 0, name
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold", name


def test_our_own_failures_are_critical_a_receivers_are_a_warning(dev: Synthesized) -> None:
    for queue in (dev.stack.cascade.dead_letter_queue, dev.stack.webhooks.dispatch_failures):
        (alarm,) = _queue_alarms(dev, dev.logical_id(queue))
        assert alarm["AlarmName"].endswith("-Critical"), alarm["AlarmName"]
    # Parked deliveries are mostly receivers that failed for 3 days.
    (alarm,) = _queue_alarms(dev, dev.logical_id(dev.stack.webhooks.dead_letter_queue))
    assert alarm["AlarmName"].endswith("-Warning"), alarm["AlarmName"]


def test_the_delivery_queue_alarms_on_the_age_of_its_oldest_message(dev: Synthesized) -> None:
    (alarm,) = _queue_alarms(dev, dev.logical_id(dev.stack.webhooks.queue))
    assert _metric_names(alarm) == {"ApproximateAgeOfOldestMessage"}
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    # Far beyond the first retries (seconds), far below the 3-day window.
    assert 15 * 60 <= alarm["Threshold"] <= 6 * 3600


def _success_rate_alarm(dev: Synthesized) -> dict[str, Any]:
    (alarm,) = [
        alarm for alarm in _alarms(dev) if _dimension(alarm, "service") == DELIVERY_OUTCOMES.service
    ]
    return alarm


def test_webhook_delivery_success_rate_alarm_reads_the_handlers_metrics(dev: Synthesized) -> None:
    alarm = _success_rate_alarm(dev)
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    stats = {
        metric_id: metric["MetricStat"]
        for metric_id, metric in metrics.items()
        if "MetricStat" in metric
    }
    assert {stat["Metric"]["Namespace"] for stat in stats.values()} == {"Waymark"}
    assert {stat["Stat"] for stat in stats.values()} == {"Sum"}
    for stat in stats.values():
        assert stat["Metric"]["Dimensions"] == [{"Name": "service", "Value": "webhook_delivery"}]
    by_name = {stat["Metric"]["MetricName"]: metric_id for metric_id, stat in stats.items()}
    assert set(by_name) == {"DeliverySucceeded", "DeliveryFailed", "DeliveryDead"}
    # Skipped deliveries (deleted or disabled subscriptions) are no attempt: not in the rate.
    (expression,) = [m for m in metrics.values() if "Expression" in m]
    assert expression["ReturnData"] is True
    text = expression["Expression"]
    assert f"100 * FILL({by_name['DeliverySucceeded']}, 0) /" in text
    for name in ("DeliveryFailed", "DeliveryDead"):
        assert f"FILL({by_name[name]}, 0)" in text.split("/", 1)[1], name


def test_webhook_delivery_success_rate_alarms_when_low_not_when_quiet(dev: Synthesized) -> None:
    alarm = _success_rate_alarm(dev)
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert 50 <= alarm["Threshold"] < 100
    assert alarm["TreatMissingData"] == "notBreaching"
    # Too few outcomes in a period make no data point (IF without an else).
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    assert expression.startswith("IF(") and ">= 10," in expression


def test_api_alarms_on_5xx_4xx_and_latency(dev: Synthesized) -> None:
    api_alarms = [a for a in _alarms(dev) if _dimension(a, "ApiName") is not None]
    metrics = set().union(*(_metric_names(a) for a in api_alarms))
    assert {"5XXError", "4XXError", "Latency"} <= metrics, metrics


def test_table_alarms_on_system_errors_and_throttling(dev: Synthesized) -> None:
    (table_id,) = dev.resources("AWS::DynamoDB::Table")
    table_alarms = [a for a in _alarms(dev) if _dimension(a, "TableName") == {"Ref": table_id}]
    names = {a["AlarmName"] for a in table_alarms}
    assert any("SystemError" in name for name in names), names
    assert any("Read-Throttled" in name for name in names), names
    assert any("Write-Throttled" in name for name in names), names
