"""Lists that need more than an index order: condition filters, segments, group filters and
ordering by attributes.

Like Userflow, these read a bounded candidate set (an environment's users or groups), filter
and sort it in memory, and reject a request whose condition matches more than 10,000
records. Plain lists in creation order never come here: they are one index Query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.domain import conditions
from shared.domain.ordering import page_in_memory
from shared.http.listing import ListQuery
from shared.store import attributed, groups, keys, memberships, users
from shared.store.attributed import Record
from shared.store.bulk import TooManyResults, query_all
from shared.store.pages import Page

MAX_MATCHES = 10_000
# Candidates read to evaluate a condition; above this an environment needs a narrower filter.
MAX_CANDIDATES = 50_000


def _value(record: Record, field: str) -> Any:
    if field == "created_at":
        return record.created_at
    return record.attributes.get(field.removeprefix("attributes."))


def _paginate(records: list[Record], query: ListQuery) -> Page[Record]:
    if len(records) > MAX_MATCHES:
        raise TooManyResults(
            f"The request matches more than {MAX_MATCHES:,} records; narrow the condition."
        )
    items, has_more = page_in_memory(
        records,
        order_by=query.order_by,
        limit=query.limit,
        starting_after=query.starting_after,
        value_of=_value,
        id_of=lambda r: r.id,
        tie_breaker=lambda r: (r.created_at, r.id),
    )
    return Page(items=items, has_more=has_more)


def _all(index_partition: str) -> list[Record]:
    items = query_all(index="GSI1", partition=index_partition, bound=MAX_CANDIDATES)
    return [attributed.record_from_item(i) for i in items]


def _matcher(
    environment_id: str, condition: conditions.Condition | None, own_scope: str
) -> Callable[[Record], bool]:
    """A predicate over candidates; group and membership attributes are loaded only if used."""
    if condition is None:
        return lambda record: True
    needs_groups = conditions.references_scope(condition, "group") or (
        conditions.references_scope(condition, "group_membership")
    )
    if own_scope == "group" or not needs_groups:
        # On groups, unprefixed and `group/` names both mean the group's own attributes.
        own_scopes = {"user", "group"} if own_scope == "group" else {"user"}

        def plain(record: Record) -> bool:
            return conditions.evaluate(
                condition,
                lambda scope, name: record.attributes.get(name) if scope in own_scopes else None,
            )

        return plain

    by_user: dict[str, list[Record]] = {}
    for membership in memberships.of_environment(environment_id, bound=MAX_CANDIDATES):
        by_user.setdefault(membership.fields["user_id"], []).append(membership)
    all_groups = {g.id: g for g in _all(keys.groups_listing(environment_id))}

    def with_groups(record: Record) -> bool:
        # A user matches when one of its memberships (with its group) satisfies the condition.
        contexts: list[Record | None] = list(by_user.get(record.id, [])) or [None]
        for membership in contexts:
            group = all_groups.get(membership.fields["group_id"]) if membership else None

            def lookup(
                scope: str, name: str, m: Record | None = membership, g: Record | None = group
            ) -> Any:
                if scope == "user":
                    return record.attributes.get(name)
                if scope == "group":
                    return g.attributes.get(name) if g else None
                return m.attributes.get(name) if m else None

            if conditions.evaluate(condition, lookup):
                return True
        return False

    return with_groups


def find_users(
    environment_id: str,
    query: ListQuery,
    *,
    condition: conditions.Condition | None,
    group_id: str | None,
    email: str | None,
) -> Page[Record]:
    if group_id is not None:
        member_ids = [
            m.fields["user_id"]
            for m in memberships.of_group(environment_id, group_id, bound=MAX_CANDIDATES)
        ]
        candidates = list(users.get_many(environment_id, member_ids).values())
    elif email is not None:
        items = query_all(
            index="GSI2", partition=keys.users_by_email(environment_id, email), bound=MAX_CANDIDATES
        )
        candidates = [attributed.record_from_item(i) for i in items]
    else:
        candidates = _all(keys.users_listing(environment_id))
    if email is not None and group_id is not None:
        candidates = [c for c in candidates if c.attributes.get("email") == email]
    matches = _matcher(environment_id, condition, "user")
    return _paginate([c for c in candidates if matches(c)], query)


def find_groups(
    environment_id: str,
    query: ListQuery,
    *,
    condition: conditions.Condition | None,
    user_id: str | None,
) -> Page[Record]:
    if user_id is not None:
        group_ids = [m.fields["group_id"] for m in memberships.of_user(environment_id, user_id)]
        candidates = list(groups.get_many(environment_id, group_ids).values())
    else:
        candidates = _all(keys.groups_listing(environment_id))
    matches = _matcher(environment_id, condition, "group")
    return _paginate([c for c in candidates if matches(c)], query)
