"""Operators get one dashboard with the whole stack on it, and alarms only where a person must
act, each with its runbook entry in docs/operations.md; every alarm notifies the one
encrypted topic, which the AlarmEmail deploy parameter subscribes an address to."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from infra.constructs.webhooks import DELIVERY_OUTCOMES
from tests.infra.conftest import Synthesized

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "operations.md"

# Alarm name (after the stage prefix) -> (namespace, metric): what needs a person.
EXPECTED_ALARMS = {
    "Api5xx": ("AWS/ApiGateway", "5XXError"),
    "DeliveryQueueStuck": ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
    "ProbeFailing": ("AWS/Lambda", "Errors"),
    "CascadeStreamBehind": ("AWS/Lambda", "IteratorAge"),
    "WebhookDispatchStreamBehind": ("AWS/Lambda", "IteratorAge"),
    "CascadeDeadLetters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "WebhookDispatchDeadLetters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "WebhookDeliveryDeadLetters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "TransferJobsDeadLetters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
}


def _alarms(dev: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        alarm["Properties"]["AlarmName"].removeprefix("waymark-dev-"): alarm["Properties"]
        for alarm in dev.resources("AWS::CloudWatch::Alarm").values()
    }


def _topic_id(dev: Synthesized) -> str:
    (topic_id,) = dev.resources("AWS::SNS::Topic")
    return topic_id


def _dashboard(dev: Synthesized) -> tuple[str, str]:
    """(name, body as text with the intrinsic functions flattened) of the one dashboard."""
    (dashboard,) = dev.resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = "".join(part if isinstance(part, str) else json.dumps(part) for part in parts)
    return dashboard["Properties"]["DashboardName"], text


def test_one_dashboard_named_after_the_stage(dev: Synthesized) -> None:
    name, _ = _dashboard(dev)
    assert name == "waymark-dev"


def test_the_dashboard_shows_the_whole_stack(dev: Synthesized) -> None:
    _, body = _dashboard(dev)
    for title in (
        "API requests and errors",
        "API latency",
        "Function errors",
        "Function throttles",
        "Function duration p99",
        "Stream iterator age",
        "Delivery queue",
        "Dead-letter queues",
        "Webhook deliveries",
        "Table: throttled requests",
        "Table: consumed capacity units",
    ):
        assert title in body, title
    for metric in (
        "Count",
        "4XXError",
        "5XXError",
        "ApiThrottled",
        "Latency",
        "Errors",
        "Throttles",
        "Duration",
        "IteratorAge",
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
        *DELIVERY_OUTCOMES.all,
    ):
        assert f'"{metric}"' in body, metric
    assert '"p50"' in body and '"p99"' in body
    # One line per function on each function graph.
    assert body.count('"AWS/Lambda","Errors"') == len(dev.resources("AWS::Lambda::Function"))


def test_429s_are_counted_from_the_access_log(dev: Synthesized) -> None:
    (metric_filter,) = dev.resources("AWS::Logs::MetricFilter").values()
    properties = metric_filter["Properties"]
    assert properties["FilterPattern"] == '{ $.status = "429" }'
    (transformation,) = properties["MetricTransformations"]
    assert transformation["MetricName"] == "ApiThrottled"
    assert transformation["MetricNamespace"] == "Waymark"
    (log_group_id,) = [
        logical_id
        for logical_id in dev.resources("AWS::Logs::LogGroup")
        if logical_id.startswith("ApiAccessLogs")
    ]
    assert properties["LogGroupName"] == {"Ref": log_group_id}


def test_alarms_only_for_what_needs_a_person(dev: Synthesized) -> None:
    alarms = _alarms(dev)
    assert set(alarms) == set(EXPECTED_ALARMS)
    for name, (namespace, metric) in EXPECTED_ALARMS.items():
        assert (alarms[name]["Namespace"], alarms[name]["MetricName"]) == (namespace, metric)
        assert alarms[name]["TreatMissingData"] == "notBreaching", name


def test_every_alarm_links_its_runbook_entry(dev: Synthesized) -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    }
    for name, alarm in _alarms(dev).items():
        found = re.search(r"Runbook: docs/operations\.md#([a-z0-9-]+)$", alarm["AlarmDescription"])
        assert found, name
        assert found.group(1) in anchors, f"{name}: no `{found.group(1)}` section in the runbook"


def test_every_alarm_notifies_the_topic(dev: Synthesized) -> None:
    for name, alarm in _alarms(dev).items():
        assert alarm["AlarmActions"] == [{"Ref": _topic_id(dev)}], name
        assert alarm["OKActions"] == [{"Ref": _topic_id(dev)}], name


def test_dead_letters_alarm_on_any_message(dev: Synthesized) -> None:
    for name, alarm in _alarms(dev).items():
        if name.endswith("DeadLetters"):
            assert alarm["Threshold"] == 0, name
            assert alarm["ComparisonOperator"] == "GreaterThanThreshold", name


def test_the_delivery_queue_alarms_on_the_age_of_its_oldest_message(dev: Synthesized) -> None:
    alarm = _alarms(dev)["DeliveryQueueStuck"]
    queue_id = dev.logical_id(dev.stack.webhooks.queue)
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
    ]
    # Far beyond the first retries (seconds), far below the 3-day window.
    assert 15 * 60 <= alarm["Threshold"] <= 6 * 3600


def test_the_alarm_email_is_a_deploy_parameter(dev: Synthesized) -> None:
    parameter = dev.template_json["Parameters"]["AlarmEmail"]
    assert parameter["Type"] == "String"
    assert parameter["Default"] == ""
    (subscription_id, subscription) = next(iter(dev.resources("AWS::SNS::Subscription").items()))
    properties = subscription["Properties"]
    assert properties["Protocol"] == "email"
    assert properties["Endpoint"] == {"Ref": "AlarmEmail"}
    assert properties["TopicArn"] == {"Ref": _topic_id(dev)}
    condition = dev.template_json["Conditions"][subscription["Condition"]]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}, subscription_id


def test_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(dev: Synthesized) -> None:
    topic = dev.template_json["Resources"][_topic_id(dev)]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = dev.template_json["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    (statement,) = [
        statement
        for statement in key["KeyPolicy"]["Statement"]
        if statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
