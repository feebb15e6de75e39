"""Reads of an index key written in shards: every shard side by side, merged in order.

Each shard is read lazily: a first Query of its share of the page for all shards side by side,
then, only for a shard that runs dry before the page is full, one more Query at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

from shared.domain.merging import merged_page, share_of_page
from shared.store import dynamo
from shared.store.pages import Page
from shared.store.parallel import run_all


class _Shard:
    """One shard's items in order, read a Query at a time."""

    def __init__(self, arguments: dict[str, Any]) -> None:
        self.arguments = arguments
        self.buffer: list[dict[str, Any]] = []
        self.exhausted = False

    def fetch(self) -> None:
        result = dynamo.client().query(**self.arguments)
        self.buffer.extend(dynamo.from_item(i) for i in result.get("Items", []))
        last = result.get("LastEvaluatedKey")
        if last:
            self.arguments["ExclusiveStartKey"] = last
        else:
            self.exhausted = True

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            while self.buffer:
                yield self.buffer.pop(0)
            if self.exhausted:
                return
            self.fetch()


def page(
    *,
    index: str,
    partitions: Sequence[str],
    limit: int,
    descending: bool,
    beyond: str | None = None,
) -> Page[dict[str, Any]]:
    """The first `limit` items of the shards `partitions` of `index`, merged by sort key,
    after the sort-key value `beyond` (exclusive; sort keys are unique across shards)."""
    share = share_of_page(limit, len(partitions))
    shards = []
    for partition in partitions:
        arguments: dict[str, Any] = {
            "TableName": dynamo.table_name(),
            "IndexName": index,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": f"{index}PK"},
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "ScanIndexForward": not descending,
            "Limit": share,
        }
        if beyond is not None:
            comparison = "<" if descending else ">"
            arguments["KeyConditionExpression"] += f" AND #sk {comparison} :beyond"
            arguments["ExpressionAttributeNames"]["#sk"] = f"{index}SK"
            arguments["ExpressionAttributeValues"][":beyond"] = {"S": beyond}
        shards.append(_Shard(arguments))
    run_all([partial(_Shard.fetch, shard) for shard in shards])
    sort_attribute = f"{index}SK"
    items, has_more = merged_page(
        shards,
        sort_key=lambda item: item[sort_attribute],
        descending=descending,
        limit=limit,
    )
    return Page(items=items, has_more=has_more)
