"""One page of a Query: `limit + 1` matching items tell whether there is more."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from shared.domain.errors import InvalidInput
from shared.store import dynamo, keys
from shared.store.bulk import query_pages

T = TypeVar("T")

FILTERED_READ_STEP = 100  # items read per Query call when a filter drops some


@dataclass(frozen=True)
class Page(Generic[T]):
    """Up to `limit` items; `resume_after` is the id to continue after when a read budget ran
    out before the page was full (it may be an object the filter left out)."""

    items: list[T]
    has_more: bool
    resume_after: str | None = None

    def cursor(self, id_of: Callable[[T], str]) -> str | None:
        """The `starting_after` of the next page."""
        if self.resume_after is not None:
            return self.resume_after
        return id_of(self.items[-1]) if self.items else None


class Anchor(Protocol):
    """The object a page resumes after (`starting_after`)."""

    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> str: ...


@dataclass(frozen=True)
class CreationOrder:
    """An index partition sorted by `keys.created_order` (users, groups, segments), and how
    to find the object a page resumes after."""

    index: str
    partition: str
    load: Callable[[str], Anchor | None]
    table_key: Callable[[str], dict[str, str]]
    what: str

    def start_after(self, starting_after: str | None) -> dict[str, str] | None:
        """The ExclusiveStartKey that resumes after the object with id `starting_after`
        (loaded to learn its creation time; a 400 when it does not exist)."""
        if starting_after is None:
            return None
        anchor = self.load(starting_after)
        if anchor is None:
            raise InvalidInput(
                f"Invalid `starting_after`: no {self.what} with id {starting_after!r}."
            )
        return {
            **self.table_key(anchor.id),
            f"{self.index}PK": self.partition,
            f"{self.index}SK": keys.created_order(anchor.created_at, anchor.id),
        }

    def page(
        self, *, limit: int, descending: bool, starting_after: str | None
    ) -> Page[dict[str, Any]]:
        """`limit` items after `starting_after`."""
        return query_page(
            index=self.index,
            partition=self.partition,
            limit=limit,
            descending=descending,
            start_key=self.start_after(starting_after),
        )

    def pages(
        self, *, descending: bool, starting_after: str | None, page_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Items after `starting_after`, `page_size` a Query, for as long as the caller reads."""
        return query_pages(
            index=self.index,
            partition=self.partition,
            descending=descending,
            page_size=page_size,
            start_key=self.start_after(starting_after),
        )

    def walk(
        self, *, after: dict[str, str] | None, page_size: int
    ) -> Iterator[tuple[list[dict[str, Any]], dict[str, str]]]:
        """Items after the position `after` (the keys of an item, as an earlier walk gave
        them: no anchor object is read, so one deleted since changes nothing), a Query page at
        a time, each with the position of its last item."""
        for page in query_pages(
            index=self.index, partition=self.partition, page_size=page_size, start_key=after
        ):
            if page:
                last = page[-1]
                names = ("PK", "SK", f"{self.index}PK", f"{self.index}SK")
                yield page, {name: last[name] for name in names}


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
    examine_budget: int | None = None,
    cursor_of: Callable[[dict[str, Any]], str] | None = None,
) -> Page[dict[str, Any]]:
    """Read up to `limit` matching items of one partition, in sort-key order.

    `start_key` resumes after an item of the table; `sort_beyond` resumes after a sort-key
    value of an index, which needs no table key of the item it follows. With a filter,
    at most `examine_budget` items are read: past it, the page ends early with `has_more`
    and `resume_after` = `cursor_of(the last key examined)`.
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
    examined = 0
    # `Limit` counts items read before the filter, and a page stops at 1 MB: keep reading
    # until one more match than asked for proves there is a next page, or the budget is spent.
    while True:
        if filter_expression:
            # A filter drops items after they are read: read in larger steps, within budget.
            step = max(limit + 1, FILTERED_READ_STEP)
            left = step if examine_budget is None else examine_budget - examined
            arguments["Limit"] = max(1, min(step, left))
        result = dynamo.client().query(**arguments)
        examined += int(result.get("ScannedCount", 0))
        items.extend(dynamo.from_item(i) for i in result.get("Items", []))
        last = result.get("LastEvaluatedKey")
        if len(items) > limit or not last:
            break
        if filter_expression and examine_budget is not None and examined >= examine_budget:
            assert cursor_of is not None, "a budgeted read needs a cursor"
            resume = cursor_of(dynamo.from_item(last))
            return Page(items=items[:limit], has_more=True, resume_after=resume)
        arguments["ExclusiveStartKey"] = last
        if not filter_expression:
            arguments["Limit"] = limit + 1 - len(items)
    return Page(items=items[:limit], has_more=len(items) > limit)
