"""Reads of whole partitions and deletes in batches."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from shared.domain.errors import InvalidInput
from shared.store import dynamo

BATCH_WRITE_LIMIT = 25


class TooManyResults(InvalidInput):
    """A bounded read found more items than it may load."""


def query_all(
    *,
    partition: str,
    index: str | None = None,
    sort_prefix: str | None = None,
    bound: int | None = None,
    descending: bool = False,
    filter_expression: str | None = None,
    filter_values: dict[str, Any] | None = None,
    filter_names: dict[str, str] | None = None,
    too_many: str | None = None,
) -> list[dict[str, Any]]:
    """Every item of one partition (of the table or an index), optionally bounded: past
    `bound` items it stops reading and raises TooManyResults (a 400) with `too_many`."""
    items: list[dict[str, Any]] = []
    for page in query_pages(
        partition=partition,
        index=index,
        sort_prefix=sort_prefix,
        descending=descending,
        filter_expression=filter_expression,
        filter_values=filter_values,
        filter_names=filter_names,
    ):
        items.extend(page)
        if bound is not None and len(items) > bound:
            raise TooManyResults(
                too_many or f"The request matches more than {bound:,} records; narrow it down."
            )
    return items


def query_pages(
    *,
    partition: str,
    index: str | None = None,
    sort_prefix: str | None = None,
    descending: bool = False,
    filter_expression: str | None = None,
    filter_values: dict[str, Any] | None = None,
    filter_names: dict[str, str] | None = None,
    page_size: int | None = None,
    start_key: dict[str, Any] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The items of one partition, a Query page (up to 1 MB, or `page_size` items) at a
    time, from the start or after `start_key`."""
    pk = f"{index}PK" if index else "PK"
    sk = f"{index}SK" if index else "SK"
    condition = "#pk = :pk"
    names = {"#pk": pk, **(filter_names or {})}
    values: dict[str, Any] = {":pk": {"S": partition}}
    if sort_prefix is not None:
        condition += " AND begins_with(#sk, :prefix)"
        names["#sk"] = sk
        values[":prefix"] = {"S": sort_prefix}
    if filter_values:
        values.update(dynamo.to_item(filter_values))
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": not descending,
    }
    if index:
        arguments["IndexName"] = index
    if filter_expression:
        arguments["FilterExpression"] = filter_expression
    if page_size is not None:
        arguments["Limit"] = page_size
    if start_key is not None:
        arguments["ExclusiveStartKey"] = dynamo.to_item(start_key)
    while True:
        page = dynamo.client().query(**arguments)
        yield [dynamo.from_item(i) for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def delete_keys(item_keys: list[dict[str, str]]) -> None:
    """BatchWriteItem deletes, 25 a call, retrying what DynamoDB leaves unprocessed."""
    unique = list({(k["PK"], k["SK"]): k for k in item_keys}.values())
    _write_batches([{"DeleteRequest": {"Key": dynamo.to_item(k)}} for k in unique])


def put_items(items: list[dict[str, Any]]) -> None:
    """BatchWriteItem puts (no conditions), 25 a call, retrying what is left unprocessed."""
    _write_batches([{"PutRequest": {"Item": dynamo.to_item(item)}} for item in items])


def _write_batches(requests: list[dict[str, Any]]) -> None:
    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {dynamo.table_name(): requests[start : start + BATCH_WRITE_LIMIT]}
        attempt = 0
        while pending:
            if attempt:
                time.sleep(min(2.0, 0.05 * 2**attempt))  # throttled: back off before retrying
            result = dynamo.client().batch_write_item(RequestItems=pending)
            pending = result.get("UnprocessedItems") or {}
            attempt += 1
