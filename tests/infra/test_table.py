"""The table matches shared/store/schema.py (what the code and the local stack assume)."""

from __future__ import annotations

from aws_cdk.assertions import Match

from shared.store import schema
from tests.infra.conftest import Synthesized


def test_one_table_with_the_schema_keys(dev: Synthesized) -> None:
    dev.template.resource_count_is("AWS::DynamoDB::Table", 1)
    dev.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": schema.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": schema.SORT_KEY, "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )


def test_every_key_attribute_is_a_string(dev: Synthesized) -> None:
    (table,) = dev.resources("AWS::DynamoDB::Table").values()
    definitions = {
        item["AttributeName"]: item["AttributeType"]
        for item in table["Properties"]["AttributeDefinitions"]
    }
    expected = {schema.PARTITION_KEY, schema.SORT_KEY} | {
        name for pair in schema.GLOBAL_INDEXES.values() for name in pair
    }
    assert definitions == dict.fromkeys(expected, "S")


def test_global_indexes_match_the_schema(dev: Synthesized) -> None:
    (table,) = dev.resources("AWS::DynamoDB::Table").values()
    indexes = {index["IndexName"]: index for index in table["Properties"]["GlobalSecondaryIndexes"]}
    assert set(indexes) == set(schema.GLOBAL_INDEXES)
    for name, (pk, sk) in schema.GLOBAL_INDEXES.items():
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": pk, "KeyType": "HASH"},
            {"AttributeName": sk, "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"] == {"ProjectionType": "ALL"}


def test_stream_pitr_ttl_and_encryption(dev: Synthesized) -> None:
    dev.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {
                "AttributeName": schema.TTL_ATTRIBUTE,
                "Enabled": True,
            },
            # SSE on without a key of ours: the AWS managed key (aws/dynamodb).
            "SSESpecification": {"SSEEnabled": True, "KMSMasterKeyId": Match.absent()},
        },
    )


def test_dev_table_can_be_deleted(dev: Synthesized) -> None:
    dev.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": Match.object_like({"DeletionProtectionEnabled": False}),
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
        },
    )


def test_prod_table_is_protected_and_retained(prod: Synthesized) -> None:
    prod.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": Match.object_like({"DeletionProtectionEnabled": True}),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_prod_log_groups_are_retained(prod: Synthesized) -> None:
    log_groups = prod.resources("AWS::Logs::LogGroup")
    assert log_groups
    assert {group["DeletionPolicy"] for group in log_groups.values()} == {"Retain"}
