"""One page of a Query: `limit + 1` matching items tell whether there is more."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from shared.domain.errors import InvalidInput
from shared.store import dynamo, keys

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool


class Anchor(Protocol):
    """The object a page resumes after (`starting_after`)."""

    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> str: ...


def creation_order_page(
    *,
    index: str,
    partition: str,
    limit: int,
    descending: bool,
    starting_after: str | None,
    load: Callable[[str], Anchor | None],
    table_key: Callable[[str], dict[str, str]],
    what: str,
) -> Page[dict[str, Any]]:
    """A page of an index sorted by `keys.created_order`, resuming after the object with id
    `starting_after` (loaded to learn its creation time; a 400 when it does not exist)."""
    start_key = None
    if starting_after is not None:
        anchor = load(starting_after)
        if anchor is None:
            raise InvalidInput(f"Invalid `starting_after`: no {what} with id {starting_after!r}.")
        start_key = {
            **table_key(anchor.id),
            f"{index}PK": partition,
            f"{index}SK": keys.created_order(anchor.created_at, anchor.id),
        }
    return query_page(
        index=index, partition=partition, limit=limit, descending=descending, start_key=start_key
    )


def query_page(
    *,
    index: str | None,
    partition: str,
    limit: int,
    descending: bool,
    start_key: dict[str, str] | None,
    partition_attribute: str | None = None,
    sort_prefix: str | None = None,
    sort_beyond: str | None = None,
    filter_expression: str | None = None,
    filter_values: dict[str, Any] | None = None,
    filter_names: dict[str, str] | None = None,
) -> Page[dict[str, Any]]:
    """Read up to `limit` matching items of one partition, in sort-key order.

    `start_key` resumes after an item of the table; `sort_beyond` resumes after a sort-key
    value of an index, which needs no table key of the item it follows.
    """
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
    if sort_prefix is not None:  # only on the table itself: its sort key is SK
        arguments["KeyConditionExpression"] += " AND begins_with(SK, :prefix)"
        arguments["ExpressionAttributeValues"][":prefix"] = {"S": sort_prefix}
    if sort_beyond is not None:  # only on an index whose sort key is unique, like an id
        comparison = "<" if descending else ">"
        arguments["KeyConditionExpression"] += f" AND #sk {comparison} :beyond"
        arguments["ExpressionAttributeNames"]["#sk"] = f"{index}SK"
        arguments["ExpressionAttributeValues"][":beyond"] = {"S": sort_beyond}
    if start_key:
        arguments["ExclusiveStartKey"] = dynamo.to_item(start_key)
    if filter_expression:
        arguments["FilterExpression"] = filter_expression
        arguments["ExpressionAttributeValues"].update(dynamo.to_item(filter_values or {}))
        arguments["ExpressionAttributeNames"].update(filter_names or {})
    items: list[dict[str, Any]] = []
    # `Limit` counts items read before the filter, and a page stops at 1 MB: keep reading
    # until one more match than asked for proves there is a next page.
    while True:
        result = dynamo.client().query(**arguments)
        items.extend(dynamo.from_item(i) for i in result.get("Items", []))
        last = result.get("LastEvaluatedKey")
        if len(items) > limit or not last:
            break
        arguments["ExclusiveStartKey"] = last
        if not filter_expression:
            arguments["Limit"] = limit + 1 - len(items)
    return Page(items=items[:limit], has_more=len(items) > limit)
