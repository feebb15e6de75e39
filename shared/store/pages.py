"""One page of a Query over an index: `limit + 1` items tell whether there is more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shared.store import dynamo

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool


def query_page(
    *,
    index: str | None,
    partition: str,
    limit: int,
    descending: bool,
    start_key: dict[str, str] | None,
    partition_attribute: str | None = None,
) -> Page[dict[str, Any]]:
    """Read up to `limit` items of one partition, in sort-key order."""
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": partition_attribute or f"{index}PK"},
        "ExpressionAttributeValues": {":pk": {"S": partition}},
        "ScanIndexForward": not descending,
        "Limit": limit + 1,
    }
    if index:
        arguments["IndexName"] = index
    if start_key:
        arguments["ExclusiveStartKey"] = dynamo.to_item(start_key)
    items: list[dict[str, Any]] = []
    # Without a filter a Query returns `Limit` items unless the partition ends; loop anyway in
    # case the 1 MB page limit cuts it short.
    while True:
        result = dynamo.client().query(**arguments)
        items.extend(dynamo.from_item(i) for i in result.get("Items", []))
        last = result.get("LastEvaluatedKey")
        if len(items) > limit or not last:
            break
        arguments["ExclusiveStartKey"] = last
        arguments["Limit"] = limit + 1 - len(items)
    return Page(items=items[:limit], has_more=len(items) > limit)
