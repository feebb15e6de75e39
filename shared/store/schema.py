"""The single table's physical shape: key attributes, indexes, TTL.

Read by the CDK table construct and by the local stack's table creation, so both agree.
See docs/table-design.md for the items and access patterns.
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "PK"
SORT_KEY = "SK"
TTL_ATTRIBUTE = "expires_at"

# name -> (partition key attribute, sort key attribute). All keys are strings; every index
# projects ALL so a page of a list never needs a second read per item.
GLOBAL_INDEXES: dict[str, tuple[str, str]] = {
    "GSI1": ("GSI1PK", "GSI1SK"),  # per-environment listings in creation order
    "GSI2": ("GSI2PK", "GSI2SK"),  # lookups by a secondary value (user email, memberships)
    "GSI3": ("GSI3PK", "GSI3SK"),  # a group's events; webhook circuits due for a probe
}


def create_table_arguments(table_name: str) -> dict[str, Any]:
    """Arguments for `CreateTable` (local stack and tests), mirroring the CDK table."""
    key_attributes = {PARTITION_KEY, SORT_KEY}
    for pk, sk in GLOBAL_INDEXES.values():
        key_attributes |= {pk, sk}
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in sorted(key_attributes)
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": pk, "KeyType": "HASH"},
                    {"AttributeName": sk, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, (pk, sk) in GLOBAL_INDEXES.items()
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
