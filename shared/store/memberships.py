"""Group memberships: in the user's partition (SK `M#<group id>`).

GSI1 lists a group's memberships by creation; GSI2 holds every membership of an environment
(condition filtering reads them all at once). A membership's `id` is generated once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from shared.domain.attributes import AttributeChange
from shared.ids import new_id
from shared.store import attributed, dynamo, keys
from shared.store.attributed import Record, Upsert
from shared.store.bulk import delete_keys, query_all
from shared.store.parallel import run_all


def planned_upsert(
    environment_id: str,
    user_id: str,
    group_id: str,
    changes: list[AttributeChange],
    path: str = "attributes",
) -> Upsert:
    """A membership upsert to check and run (see `attributed`)."""
    return Upsert(
        key=keys.membership(environment_id, user_id, group_id),
        object_id=keys.membership_in_listing(user_id, group_id),
        changes=changes,
        what="membership",
        path=path,
        fixed={
            "user_id": user_id,
            "group_id": group_id,
            "GSI1PK": keys.group_members_listing(environment_id, group_id),
            "GSI2PK": keys.memberships_listing(environment_id),
            "GSI2SK": keys.membership_in_listing(user_id, group_id),
        },
        created_order="GSI1SK",
        set_once={"id": new_id()},
    )


def of_user(
    environment_id: str, user_id: str, bound: int | None = None, too_many: str | None = None
) -> list[Record]:
    items = query_all(
        partition=keys.user(environment_id, user_id)["PK"],
        sort_prefix=keys.MEMBERSHIP_PREFIX,
        bound=bound,
        too_many=too_many,
    )
    return [attributed.record_from_item(i) for i in items]


def of_group(
    environment_id: str, group_id: str, bound: int | None = None, too_many: str | None = None
) -> list[Record]:
    items = query_all(
        index="GSI1",
        partition=keys.group_members_listing(environment_id, group_id),
        bound=bound,
        too_many=too_many,
    )
    return [attributed.record_from_item(i) for i in items]


def of_users(
    environment_id: str, user_ids: Sequence[str], bound: int, too_many: str
) -> dict[str, list[Record]]:
    """Each user's memberships: one Query per user, side by side. `too_many` may name the
    user as `{id}`."""
    return _each(partial(of_user, environment_id), user_ids, bound, too_many)


def of_groups(
    environment_id: str, group_ids: Sequence[str], bound: int, too_many: str
) -> dict[str, list[Record]]:
    """Each group's memberships: one Query per group, side by side. `too_many` may name the
    group as `{id}`."""
    return _each(partial(of_group, environment_id), group_ids, bound, too_many)


def _each(
    read: Callable[[str, int, str], list[Record]], ids: Sequence[str], bound: int, too_many: str
) -> dict[str, list[Record]]:
    unique = list(dict.fromkeys(ids))
    found = run_all([partial(read, i, bound, too_many.format(id=i)) for i in unique])
    return dict(zip(unique, found, strict=True))


def of_environment(environment_id: str, bound: int, too_many: str) -> list[Record]:
    items = query_all(
        index="GSI2",
        partition=keys.memberships_listing(environment_id),
        bound=bound,
        too_many=too_many,
    )
    return [attributed.record_from_item(i) for i in items]


def delete(environment_id: str, user_id: str, group_id: str) -> Record | None:
    """Idempotent; returns the membership that was removed, if any."""
    result = dynamo.client().delete_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.membership(environment_id, user_id, group_id)),
        ReturnValues="ALL_OLD",
    )
    old = result.get("Attributes")
    return attributed.record_from_item(dynamo.from_item(old)) if old else None


def delete_records(environment_id: str, records: list[Record]) -> None:
    delete_keys(
        [
            keys.membership(environment_id, r.fields["user_id"], r.fields["group_id"])
            for r in records
        ]
    )
