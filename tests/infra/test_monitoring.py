"""Operators get dashboards, and alarms on every function, the API, the stream, the DLQ and
the table; every alarm notifies the one encrypted topic."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constructs.cascade import CASCADE
from infra.routes import API_FUNCTIONS, AUTHORIZER, FunctionRoute
from tests.infra.conftest import Synthesized

ALL_FUNCTIONS = (*API_FUNCTIONS, AUTHORIZER, CASCADE)


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


def test_stream_iterator_age_alarm_on_the_cascade(dev: Synthesized) -> None:
    cascade_ref = {"Ref": dev.function_id(CASCADE.handler)}
    iterator_alarms = [a for a in _alarms(dev) if "IteratorAge" in _metric_names(a)]
    assert [_dimension(a, "FunctionName") for a in iterator_alarms] == [cascade_ref]


def test_any_message_on_the_dead_letter_queue_alarms(dev: Synthesized) -> None:
    (queue_id,) = dev.resources("AWS::SQS::Queue")
    queue_alarms = [
        alarm
        for alarm in _alarms(dev)
        if _dimension(alarm, "QueueName") == {"Fn::GetAtt": [queue_id, "QueueName"]}
    ]
    (alarm,) = queue_alarms
    assert _metric_names(alarm) == {"ApproximateNumberOfMessagesVisible"}
    assert alarm["Threshold"] == 0
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


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
