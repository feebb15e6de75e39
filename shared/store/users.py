"""Users: PK `E#<env>#U#<id>`, SK `U`; GSI1 lists them by creation, GSI2 finds them by email."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from shared.domain import limits
from shared.domain.attributes import AttributeChange, Operation
from shared.store import attributed, dynamo, keys
from shared.store.attributed import Expression, Record, Upsert
from shared.store.bulk import query_all
from shared.store.pages import CreationOrder, Page

EMAIL_ATTRIBUTE = "email"


def get(environment_id: str, user_id: str) -> Record | None:
    return attributed.get(keys.user(environment_id, user_id))


def delete(environment_id: str, user_id: str) -> None:
    """Idempotent."""
    dynamo.client().delete_item(
        TableName=dynamo.table_name(), Key=dynamo.to_item(keys.user(environment_id, user_id))
    )


def get_many(environment_id: str, user_ids: list[str]) -> dict[str, Record]:
    records = attributed.batch_get(keys.user(environment_id, u) for u in user_ids)
    return {r.id: r for r in records}


def planned_upsert(
    environment_id: str,
    user_id: str,
    changes: list[AttributeChange],
    path: str = "attributes",
    *,
    must_exist: bool = False,
) -> Upsert:
    """A user upsert to check and run (see `attributed`); `must_exist`: an update only."""
    for change in changes:
        if change.name == EMAIL_ATTRIBUTE and isinstance(change.value, str):
            # A string email is an index partition key, which has a size limit.
            limits.check_email(change.value, f"{path}.{EMAIL_ATTRIBUTE}")

    def index_email(expression: Expression, resolved: list[AttributeChange], order: str) -> None:
        """Keep GSI2 (users by email) in step with a string `email` attribute."""
        change = next((c for c in resolved if c.name == EMAIL_ATTRIBUTE), None)
        if change is None:
            return
        if change.operation in (Operation.SET, Operation.SET_ONCE) and isinstance(
            change.value, str
        ):
            once = change.operation is Operation.SET_ONCE
            expression.set("GSI2PK", keys.users_by_email(environment_id, change.value), once=once)
            # Same order as GSI1: the stored creation order, or this write's for a new user.
            gsi2sk, gsi1sk = expression.name("GSI2SK"), expression.name("GSI1SK")
            expression.sets.append(f"{gsi2sk} = if_not_exists({gsi1sk}, {expression.value(order)})")
        elif change.operation is not Operation.SET_ONCE:
            expression.removes.extend(["GSI2PK", "GSI2SK"])

    return Upsert(
        key=keys.user(environment_id, user_id),
        object_id=user_id,
        changes=changes,
        fixed={"id": user_id, "GSI1PK": keys.users_listing(environment_id)},
        what="user",
        path=path,
        created_order="GSI1SK",
        index_hook=index_email,
        must_exist=must_exist,
    )


def list_page(
    environment_id: str,
    *,
    limit: int,
    descending: bool,
    starting_after: str | None,
    email: str | None = None,
) -> Page[Record]:
    """Users in creation order (or one email's users), `limit` at a time."""
    page = _listing(environment_id, email).page(
        limit=limit, descending=descending, starting_after=starting_after
    )
    return Page(items=[attributed.record_from_item(i) for i in page.items], has_more=page.has_more)


def in_creation_order(
    environment_id: str,
    *,
    descending: bool,
    starting_after: str | None,
    email: str | None = None,
    page_size: int,
) -> Iterator[list[Record]]:
    """Users (or one email's users) in creation order, `page_size` a Query, for as long as
    the caller reads."""
    pages = _listing(environment_id, email).pages(
        descending=descending, starting_after=starting_after, page_size=page_size
    )
    for page in pages:
        yield [attributed.record_from_item(i) for i in page]


def walk(
    environment_id: str, *, after: dict[str, str] | None, page_size: int
) -> Iterator[tuple[list[Record], dict[str, str]]]:
    """All users in creation order after the position `after`, a page at a time with the
    position of its last (for jobs that continue in another invocation)."""
    for page, position in _listing(environment_id, None).walk(after=after, page_size=page_size):
        yield [attributed.record_from_item(i) for i in page], position


def every(
    environment_id: str, *, email: str | None = None, bound: int, too_many: str
) -> list[Record]:
    """All users (or one email's users), at most `bound` (past it, a 400 saying `too_many`)."""
    listing = _listing(environment_id, email)
    items = query_all(
        index=listing.index, partition=listing.partition, bound=bound, too_many=too_many
    )
    return [attributed.record_from_item(i) for i in items]


def _listing(environment_id: str, email: str | None) -> CreationOrder:
    """An environment's users by creation (GSI1), or one email's (GSI2)."""
    index, partition = (
        ("GSI1", keys.users_listing(environment_id))
        if email is None
        else ("GSI2", keys.users_by_email(environment_id, email))
    )
    return CreationOrder(
        index=index,
        partition=partition,
        load=partial(get, environment_id),
        table_key=partial(keys.user, environment_id),
        what="user",
    )
