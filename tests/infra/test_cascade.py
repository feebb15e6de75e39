"""The cascade: the table stream feeds the cascade function through a filtered, bounded
mapping with partial batch responses, and what fails every retry lands on an SQS DLQ."""

from __future__ import annotations

import json
from typing import Any

from functions.cascade.handler import PURGE_FILTER
from infra.constructs.cascade import CASCADE
from tests.infra.conftest import Synthesized


def _mapping(dev: Synthesized) -> dict[str, Any]:
    function_ref = {"Ref": dev.function_id(CASCADE.handler)}
    (mapping,) = [
        mapping["Properties"]
        for mapping in dev.resources("AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["FunctionName"] == function_ref
    ]
    properties: dict[str, Any] = mapping
    return properties


def _queue_id(dev: Synthesized) -> str:
    return dev.logical_id(dev.stack.cascade.dead_letter_queue)


def test_the_table_stream_triggers_the_cascade_function(dev: Synthesized) -> None:
    (table_id,) = dev.resources("AWS::DynamoDB::Table")
    mapping = _mapping(dev)
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert mapping["FunctionName"] == {"Ref": dev.function_id(CASCADE.handler)}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"


def test_only_purge_job_inserts_reach_the_function(dev: Synthesized) -> None:
    (only,) = _mapping(dev)["FilterCriteria"]["Filters"]
    pattern = json.loads(only["Pattern"])
    assert pattern == PURGE_FILTER
    # What the filter means, spelled out: new items whose sort key starts with PURGE#.
    assert pattern["eventName"] == ["INSERT"]
    assert pattern["dynamodb"]["Keys"]["SK"]["S"] == [{"prefix": "PURGE#"}]


def test_partial_batch_responses_bisect_and_bounded_retries(dev: Synthesized) -> None:
    mapping = _mapping(dev)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    # Below the stream's 24 h retention, so a record is parked before it expires.
    assert 0 < mapping["MaximumRecordAgeInSeconds"] < 24 * 3600
    assert 0 < mapping["BatchSize"] <= 100


def test_failed_records_go_to_the_dead_letter_queue(dev: Synthesized) -> None:
    destination = _mapping(dev)["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": [_queue_id(dev), "Arn"]}


def test_dead_letter_queue_is_encrypted_ssl_only_and_keeps_messages_14_days(
    dev: Synthesized,
) -> None:
    queue_id = _queue_id(dev)
    queue = dev.template_json["Resources"][queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    (policy,) = [
        policy
        for policy in dev.resources("AWS::SQS::QueuePolicy").values()
        if policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_cascade_may_send_to_its_queue_only(dev: Synthesized) -> None:
    function = dev.template_json["Resources"][dev.function_id(CASCADE.handler)]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    sqs_statements = [
        statement
        for statement in dev.policy_statements(role_id)
        if any(str(action).startswith("sqs:") for action in statement["Action"])
    ]
    (statement,) = sqs_statements
    assert "sqs:SendMessage" in statement["Action"]
    assert statement["Resource"] == {"Fn::GetAtt": [_queue_id(dev), "Arn"]}


def test_cascade_has_time_for_large_purges(dev: Synthesized) -> None:
    function = dev.template_json["Resources"][dev.function_id(CASCADE.handler)]["Properties"]
    assert function["Timeout"] >= 60
    assert function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "cascade"
