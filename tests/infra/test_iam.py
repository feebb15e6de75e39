"""Least privilege: each role may do what its function needs, on named resources only."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constructs.access import READ_WRITE, TableAccess, access_for
from infra.constructs.cascade import CASCADE
from infra.constructs.transfers import TRANSFER_JOBS
from infra.constructs.webhooks import WEBHOOK_DELIVERY, WEBHOOK_DISPATCH, WEBHOOK_PROBE
from infra.functions import DEPLOYED_FUNCTIONS
from infra.routes import AUTHORIZER, FunctionRoute
from shared.store import schema
from tests.infra.conftest import Synthesized

LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
STREAM_READ_ACTIONS = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
}

# What each function may do, written out (not read from infra/constructs/access.py), so a
# widened grant fails here: "table" = the table's items, "index" = every GSI.
READ_WRITE_EXPECTED = {
    "table": {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    },
    "index": {"dynamodb:Query"},
}
EXPECTED_ACCESS: dict[str, dict[str, set[str]]] = {
    "authorizer": {"table": {"dynamodb:GetItem"}},
    "users": READ_WRITE_EXPECTED,
    "groups": READ_WRITE_EXPECTED,
    # Runs the users, groups, events, content and content sessions handlers (reads, upserts,
    # deletes, a session's end): their union, which is the API profile.
    "usertour_v1": READ_WRITE_EXPECTED,
    # A user upsert, many times: no delete, no index.
    "users_bulk": {
        "table": {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
        }
    },
    "events": {
        "table": {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        },
        "index": {"dynamodb:Query"},
    },
    "definitions": {"table": {"dynamodb:Query"}},
    "segments": {
        "table": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        "index": {"dynamodb:Query"},
    },
    # Transactions with conditions on items they do not write (ConditionCheckItem); content
    # never deletes nor queries the table, sessions do both (answers, a user's sessions).
    "content": {
        "table": {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
        },
        "index": {"dynamodb:Query"},
    },
    "content_sessions": {
        "table": {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:ConditionCheckItem",
        },
        "index": {"dynamodb:Query"},
    },
    # Creates, reads and queues jobs; lists an import's bad rows (its partition).
    "transfers": {
        "table": {
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        }
    },
    # Imports write rows as upserts and bad rows in batches; exports read lists. No delete.
    "transfer_jobs": {
        "table": {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
        },
        "index": {"dynamodb:Query"},
    },
    "webhook_subscriptions": {
        "table": {
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        "index": {"dynamodb:Query"},
    },
    "cascade": {
        "table": {"dynamodb:Query", "dynamodb:BatchWriteItem"},
        "index": {"dynamodb:Query"},
    },
    # shared/store/subscriptions.list_all: one Query of the table; backlog.add (BatchWriteItem
    # and a counting UpdateItem) for receivers whose circuit is open.
    "webhook_dispatch": {
        "table": {"dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"}
    },
    # get (GetItem); record_attempt, record_success/failure, open_circuit, disable
    # (UpdateItem); backlog.add (BatchWriteItem, UpdateItem); the inline drain (Query).
    "webhook_delivery": {
        "table": {
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
        }
    },
    # due_circuits (GSI3 Query); claim/schedule/close and attempts (UpdateItem); get
    # (GetItem); the backlog (Query, BatchWriteItem).
    "webhook_probe": {
        "table": {
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
        },
        "index": {"dynamodb:Query"},
    },
}
STREAM_CONSUMERS = {CASCADE.name, WEBHOOK_DISPATCH.name}
# What the CDK grants a stream mapping's on-failure queue (SqsDlq) and an SQS event source.
DLQ_DESTINATION = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
SQS_CONSUMER = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
}


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def _role_id(dev: Synthesized, route: FunctionRoute) -> str:
    function = dev.template_json["Resources"][dev.function_id(route.handler)]
    role_id: str = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return role_id


def _dynamodb_statements(dev: Synthesized, route: FunctionRoute) -> list[dict[str, Any]]:
    return [
        statement
        for statement in dev.policy_statements(_role_id(dev, route))
        if any(action.startswith("dynamodb:") for action in _actions(statement))
    ]


def _table_arn(dev: Synthesized) -> dict[str, Any]:
    (table_id,) = dev.resources("AWS::DynamoDB::Table")
    return {"Fn::GetAtt": [table_id, "Arn"]}


def test_no_managed_policies_on_function_roles(dev: Synthesized) -> None:
    for route in DEPLOYED_FUNCTIONS:
        role = dev.template_json["Resources"][_role_id(dev, route)]
        assert "ManagedPolicyArns" not in role["Properties"], route.name


def test_statements_are_allow_only_and_never_wildcard_actions(dev: Synthesized) -> None:
    for policy in dev.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            assert not any(action.endswith("*") for action in _actions(statement)), statement


def test_authorizer_may_only_get_items_from_the_table(dev: Synthesized) -> None:
    (statement,) = _dynamodb_statements(dev, AUTHORIZER)
    assert _actions(statement) == {"dynamodb:GetItem"}
    assert _resources(statement) == [_table_arn(dev)]


def test_authorizer_has_nothing_beyond_logs_and_get_item(dev: Synthesized) -> None:
    actions = set().union(
        *(_actions(statement) for statement in dev.policy_statements(_role_id(dev, AUTHORIZER)))
    )
    assert actions == LOG_ACTIONS | {"dynamodb:GetItem"}


def _item_access(dev: Synthesized, route: FunctionRoute) -> dict[str, set[str]]:
    """ "table" / "index" -> the item actions granted there; every GSI must get the same."""
    table_arn = _table_arn(dev)
    by_index: dict[str, set[str]] = {}
    access: dict[str, set[str]] = {}
    for statement in _dynamodb_statements(dev, route):
        actions = {a for a in _actions(statement) if a.startswith("dynamodb:")}
        actions -= {"dynamodb:ListStreams"} | STREAM_READ_ACTIONS
        if not actions:
            continue
        for resource in _resources(statement):
            if resource == table_arn:
                access.setdefault("table", set()).update(actions)
                continue
            base, suffix = resource["Fn::Join"][1]
            assert base == table_arn, resource
            assert suffix.startswith("/index/") and suffix != "/index/*", suffix
            by_index.setdefault(suffix.removeprefix("/index/"), set()).update(actions)
    if by_index:
        assert set(by_index) == set(schema.GLOBAL_INDEXES), "indexes are granted one by one"
        (index_actions,) = {frozenset(actions) for actions in by_index.values()}
        access["index"] = set(index_actions)
    return access


@pytest.mark.parametrize("route", DEPLOYED_FUNCTIONS, ids=lambda route: route.name)
def test_each_function_gets_exactly_its_dynamodb_actions(
    dev: Synthesized, route: FunctionRoute
) -> None:
    # A function the route table gains before access.py lists it gets the API profile.
    expected = EXPECTED_ACCESS.get(route.name, READ_WRITE_EXPECTED)
    assert _item_access(dev, route) == expected


def test_read_only_functions_cannot_write() -> None:
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    for name in ("authorizer", "definitions"):
        assert not set(access_for(name).table_actions) & writes, name


def test_an_unlisted_function_gets_the_api_profile() -> None:
    assert access_for("a-function-added-tomorrow") == READ_WRITE
    assert set(READ_WRITE.table_actions) == READ_WRITE_EXPECTED["table"]
    assert set(READ_WRITE.index_actions) == READ_WRITE_EXPECTED["index"]


def test_a_table_access_grants_something() -> None:
    with pytest.raises(ValueError, match="at least one action"):
        TableAccess(table_actions=())


def test_only_the_stream_consumers_read_the_stream(dev: Synthesized) -> None:
    stream_arn = {"Fn::GetAtt": [next(iter(dev.resources("AWS::DynamoDB::Table"))), "StreamArn"]}
    for route in DEPLOYED_FUNCTIONS:
        statements = _dynamodb_statements(dev, route)
        stream = [s for s in statements if _actions(s) & STREAM_READ_ACTIONS]
        if route.name not in STREAM_CONSUMERS:
            assert stream == [], route.name
            continue
        (statement,) = stream
        assert _actions(statement) == STREAM_READ_ACTIONS
        assert _resources(statement) == [stream_arn]


@pytest.mark.parametrize("route", DEPLOYED_FUNCTIONS, ids=lambda route: route.name)
def test_only_actions_without_resource_level_permissions_use_a_wildcard(
    dev: Synthesized, route: FunctionRoute
) -> None:
    # ListStreams (the stream mapping's) has no resource-level permissions. No X-Ray: tracing
    # is off.
    allowed = {"dynamodb:ListStreams"} if route.name in STREAM_CONSUMERS else set()
    for statement in dev.policy_statements(_role_id(dev, route)):
        if "*" in _resources(statement):
            assert _resources(statement) == ["*"]
            assert _actions(statement) == allowed, route.name
        if _actions(statement) & LOG_ACTIONS:
            (log_group,) = _resources(statement)
            assert log_group["Fn::GetAtt"][1] == "Arn"


def test_no_scan_or_table_management_anywhere(dev: Synthesized) -> None:
    forbidden = {"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:UpdateTable"}
    for policy in dev.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert not _actions(statement) & forbidden


def _queue_grants(dev: Synthesized, route: FunctionRoute) -> dict[str, set[str]]:
    """Queue logical id -> the SQS actions the function's role has on it."""
    grants: dict[str, set[str]] = {}
    for statement in dev.policy_statements(_role_id(dev, route)):
        actions = {action for action in _actions(statement) if action.startswith("sqs:")}
        if not actions:
            continue
        for resource in _resources(statement):
            queue_id, attribute = resource["Fn::GetAtt"]
            assert attribute == "Arn"
            assert dev.template_json["Resources"][queue_id]["Type"] == "AWS::SQS::Queue"
            grants.setdefault(queue_id, set()).update(actions)
    return grants


def _expected_queue_grants(dev: Synthesized) -> dict[str, dict[str, set[str]]]:
    webhooks = dev.stack.webhooks
    delivery_queue = dev.logical_id(webhooks.queue)
    jobs_queue = dev.logical_id(dev.stack.transfers.queue)
    return {
        CASCADE.name: {dev.logical_id(dev.stack.cascade.dead_letter_queue): DLQ_DESTINATION},
        # Enqueues (SendMessageBatch is authorized as SendMessage); parks failed records.
        WEBHOOK_DISPATCH.name: {
            delivery_queue: {"sqs:SendMessage"},
            dev.logical_id(webhooks.dispatch_failures): DLQ_DESTINATION,
        },
        # Consumes (ChangeMessageVisibility is also its postponement); parks on the DLQ.
        WEBHOOK_DELIVERY.name: {
            delivery_queue: SQS_CONSUMER,
            dev.logical_id(webhooks.dead_letter_queue): {"sqs:SendMessage"},
        },
        # Drains backlogs to the queue; parks what outlived its window.
        WEBHOOK_PROBE.name: {
            delivery_queue: {"sqs:SendMessage"},
            dev.logical_id(webhooks.dead_letter_queue): {"sqs:SendMessage"},
        },
        # Test notifications, resends, recoveries.
        "webhook_subscriptions": {delivery_queue: {"sqs:SendMessage"}},
        # A job's first step (the API), each next step (the steps function, which consumes).
        "transfers": {jobs_queue: {"sqs:SendMessage"}},
        TRANSFER_JOBS.name: {jobs_queue: SQS_CONSUMER | {"sqs:SendMessage"}},
    }


@pytest.mark.parametrize("route", DEPLOYED_FUNCTIONS, ids=lambda route: route.name)
def test_each_function_gets_exactly_its_sqs_actions(dev: Synthesized, route: FunctionRoute) -> None:
    assert _queue_grants(dev, route) == _expected_queue_grants(dev).get(route.name, {})


def test_no_role_may_purge_or_manage_queues(dev: Synthesized) -> None:
    allowed = DLQ_DESTINATION | SQS_CONSUMER
    for policy in dev.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            sqs_actions = {a for a in _actions(statement) if a.startswith("sqs:")}
            assert sqs_actions <= allowed, statement


def _bucket_grants(dev: Synthesized, route: FunctionRoute) -> dict[str, set[str]]:
    """Bucket prefix ("bodies/notifications", "files/imports", ...) -> the S3 actions a
    function's role has there; every grant is on one prefix of one of the stack's buckets."""
    buckets = {
        dev.logical_id(dev.stack.webhooks.bodies): "bodies",
        dev.logical_id(dev.stack.transfers.bucket): "files",
    }
    grants: dict[str, set[str]] = {}
    for statement in dev.policy_statements(_role_id(dev, route)):
        found = {action for action in _actions(statement) if action.startswith("s3:")}
        if not found:
            continue
        ((resource,),) = [_resources(statement)]
        arn, suffix = resource["Fn::Join"][1]
        bucket = buckets[arn["Fn::GetAtt"][0]]
        assert arn["Fn::GetAtt"][1] == "Arn" and suffix.endswith("/*"), statement
        grants.setdefault(f"{bucket}{suffix.removesuffix('/*')}", set()).update(found)
    return grants


@pytest.mark.parametrize("route", DEPLOYED_FUNCTIONS, ids=lambda route: route.name)
def test_each_function_gets_exactly_its_bucket_actions(
    dev: Synthesized, route: FunctionRoute
) -> None:
    bodies = "bodies/notifications"
    expected = {
        WEBHOOK_DISPATCH.name: {bodies: {"s3:PutObject"}},  # stores a body too large for SQS
        WEBHOOK_DELIVERY.name: {bodies: {"s3:GetObject"}},
        WEBHOOK_PROBE.name: {bodies: {"s3:GetObject"}},
        "webhook_subscriptions": {bodies: {"s3:GetObject"}},  # shows one delivery's large body
        # Signs uploads and downloads (a URL carries its signer's rights), checks an upload.
        "transfers": {
            "files/imports": {"s3:GetObject", "s3:PutObject"},
            "files/exports": {"s3:GetObject"},
        },
        # Reads uploads; writes exports (a multipart upload is PutObject, its parts listed)
        # and reads back what a step carried over.
        TRANSFER_JOBS.name: {
            "files/imports": {"s3:GetObject"},
            "files/exports": {"s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts"},
        },
    }
    assert _bucket_grants(dev, route) == expected.get(route.name, {})


# What each function may do with the webhook secrets key: the API seals new secrets (it
# generates data keys), delivery and the probe sign (they decrypt data keys); nobody else.
EXPECTED_KEY_ACTIONS = {
    "webhook_subscriptions": {"kms:GenerateDataKey"},
    WEBHOOK_DELIVERY.name: {"kms:Decrypt"},
    WEBHOOK_PROBE.name: {"kms:Decrypt"},
}


@pytest.mark.parametrize("route", DEPLOYED_FUNCTIONS, ids=lambda route: route.name)
def test_each_function_gets_exactly_its_secrets_key_actions(
    dev: Synthesized, route: FunctionRoute
) -> None:
    key_arn = {"Fn::GetAtt": [dev.logical_id(dev.stack.webhooks.secrets_key), "Arn"]}
    granted: set[str] = set()
    for statement in dev.policy_statements(_role_id(dev, route)):
        kms = {action for action in _actions(statement) if action.startswith("kms:")}
        if kms:
            assert _resources(statement) == [key_arn], route.name
            granted |= kms
    assert granted == EXPECTED_KEY_ACTIONS.get(route.name, set())
