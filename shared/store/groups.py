"""Groups: PK `E#<env>#G#<id>`, SK `G`; GSI1 lists them by creation."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from shared.domain.attributes import AttributeChange
from shared.store import attributed, dynamo, keys
from shared.store.attributed import Record, Upsert
from shared.store.bulk import query_all
from shared.store.pages import CreationOrder, Page


def get(environment_id: str, group_id: str) -> Record | None:
    return attributed.get(keys.group(environment_id, group_id))


def delete(environment_id: str, group_id: str) -> None:
    """Idempotent."""
    dynamo.client().delete_item(
        TableName=dynamo.table_name(), Key=dynamo.to_item(keys.group(environment_id, group_id))
    )


def get_many(environment_id: str, group_ids: list[str]) -> dict[str, Record]:
    records = attributed.batch_get(keys.group(environment_id, g) for g in group_ids)
    return {r.id: r for r in records}


def planned_upsert(
    environment_id: str, group_id: str, changes: list[AttributeChange], path: str = "attributes"
) -> Upsert:
    """A group upsert to check and run (see `attributed`)."""
    return Upsert(
        key=keys.group(environment_id, group_id),
        object_id=group_id,
        changes=changes,
        fixed={"id": group_id, "GSI1PK": keys.groups_listing(environment_id)},
        what="group",
        path=path,
        created_order="GSI1SK",
    )


def list_page(
    environment_id: str, *, limit: int, descending: bool, starting_after: str | None
) -> Page[Record]:
    page = _listing(environment_id).page(
        limit=limit, descending=descending, starting_after=starting_after
    )
    return Page(items=[attributed.record_from_item(i) for i in page.items], has_more=page.has_more)


def in_creation_order(
    environment_id: str, *, descending: bool, starting_after: str | None, page_size: int
) -> Iterator[list[Record]]:
    """Groups in creation order, `page_size` a Query, for as long as the caller reads."""
    pages = _listing(environment_id).pages(
        descending=descending, starting_after=starting_after, page_size=page_size
    )
    for page in pages:
        yield [attributed.record_from_item(i) for i in page]


def walk(
    environment_id: str, *, after: dict[str, str] | None, page_size: int
) -> Iterator[tuple[list[Record], dict[str, str]]]:
    """All groups in creation order after the position `after`, a page at a time with the
    position of its last (for jobs that continue in another invocation)."""
    for page, position in _listing(environment_id).walk(after=after, page_size=page_size):
        yield [attributed.record_from_item(i) for i in page], position


def every(environment_id: str, *, bound: int, too_many: str) -> list[Record]:
    """All groups, at most `bound` (past it, a 400 saying `too_many`)."""
    items = query_all(
        index="GSI1", partition=keys.groups_listing(environment_id), bound=bound, too_many=too_many
    )
    return [attributed.record_from_item(i) for i in items]


def _listing(environment_id: str) -> CreationOrder:
    return CreationOrder(
        index="GSI1",
        partition=keys.groups_listing(environment_id),
        load=partial(get, environment_id),
        table_key=partial(keys.group, environment_id),
        what="group",
    )
