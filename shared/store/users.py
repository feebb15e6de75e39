"""Users: PK `E#<env>#U#<id>`, SK `U`; GSI1 lists them by creation, GSI2 finds them by email."""

from __future__ import annotations

from functools import partial

from shared.domain import limits
from shared.domain.attributes import AttributeChange, Operation
from shared.store import attributed, dynamo, keys
from shared.store.attributed import Expression, Record, Upsert
from shared.store.pages import Page, creation_order_page

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
    environment_id: str, user_id: str, changes: list[AttributeChange], path: str = "attributes"
) -> Upsert:
    """A user upsert to check and run (see `attributed`)."""
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
    if email is None:
        index, partition = "GSI1", keys.users_listing(environment_id)
    else:
        index, partition = "GSI2", keys.users_by_email(environment_id, email)
    page = creation_order_page(
        index=index,
        partition=partition,
        limit=limit,
        descending=descending,
        starting_after=starting_after,
        load=partial(get, environment_id),
        table_key=partial(keys.user, environment_id),
        what="user",
    )
    return Page(items=[attributed.record_from_item(i) for i in page.items], has_more=page.has_more)
