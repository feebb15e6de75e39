"""Lists of users and groups: which reads answer a request, within which budget.

- A plain list in creation order (optionally one email's users) is one index Query a page.
- A condition or segment in creation order (the default order) reads the index in that
  order and tests each object, examining at most FILTER_EXAMINE_BUDGET objects a request
  (FILTER_EXAMINE_BUDGET_WITH_MEMBERSHIPS when the condition needs users' memberships and
  groups): the page ends with what matched, `has_more` and a cursor to continue, so work per
  request is bounded however rare the matches.
- Users ordered by `name`, `signed_up_at` or `last_seen_at`, with no filter, page through
  their ordered entries (shared/store/user_order.py): one Query per shard, side by side.
- Anything else (other orders, or with a filter; a group's members, a user's groups) needs every
  candidate before sorting: at most SORT_READ_BUDGET are read, and more is a 400 that says
  how to narrow the request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from shared.domain import conditions, limits
from shared.domain.errors import InvalidInput
from shared.domain.limits import (
    FILTER_EXAMINE_BUDGET,
    FILTER_EXAMINE_BUDGET_WITH_MEMBERSHIPS,
    SORT_READ_BUDGET,
)
from shared.domain.ordering import page_in_memory
from shared.http.listing import ListQuery
from shared.store import groups, memberships, segments, user_order, users
from shared.store.attributed import Record
from shared.store.keys import ORDERED_ATTRIBUTES
from shared.store.pages import Page

Matcher = Callable[[Record], bool]
# Reads the memberships (with their groups) of a batch of users: user id -> contexts.
MembershipContext = dict[str, list[tuple[Record, Record | None]]]

_SORTED_TOO_MANY = (
    "Invalid `order_by`: ordering by attributes sorts every {what} in memory, and there are "
    f"more than {SORT_READ_BUDGET:,}; order by created_at (the default) to page through them."
)


def list_users(environment_id: str, query: ListQuery) -> Page[Record]:
    condition = _condition(environment_id, query.filters)
    group_id = query.filters.get("group_id")
    email = query.filters.get("email")
    if email is not None:
        limits.check_email(email, "email")
    descending = query.order_by[0].descending
    in_creation_order = [o.field for o in query.order_by] == ["created_at"]
    ordered_by = _indexed_order(query)
    unfiltered = condition is None and group_id is None and email is None
    if ordered_by is not None and unfiltered and user_order.is_ready(environment_id):
        return user_order.page(
            environment_id,
            ordered_by,
            limit=query.limit,
            descending=descending,
            starting_after=query.starting_after,
        )
    if group_id is None and in_creation_order:
        if condition is None:
            return users.list_page(
                environment_id,
                limit=query.limit,
                descending=descending,
                starting_after=query.starting_after,
                email=email,
            )
        needs_groups = _needs_groups(condition)
        budget = FILTER_EXAMINE_BUDGET_WITH_MEMBERSHIPS if needs_groups else FILTER_EXAMINE_BUDGET
        # Users come in pages of 100; with memberships to read (a Query per user), in pages
        # near the page asked for, so a common match costs few Queries.
        page_size = min(budget, max(2 * (query.limit + 1), 10) if needs_groups else 100)
        batches = users.in_creation_order(
            environment_id,
            descending=descending,
            starting_after=query.starting_after,
            email=email,
            page_size=page_size,
        )
        return _first_matches(
            batches,
            limit=query.limit,
            budget=budget,
            matcher_for=lambda batch: _user_matcher(
                condition, _memberships_of(environment_id, batch) if needs_groups else None
            ),
        )

    # Sorted in memory: every candidate first.
    if group_id is not None:
        members = memberships.of_group(
            environment_id,
            group_id,
            bound=SORT_READ_BUDGET,
            too_many=(
                f"Invalid `group_id`: group {group_id!r} has more than {SORT_READ_BUDGET:,} "
                "members, more than a list filtered by group can sort."
            ),
        )
        candidates = list(
            users.get_many(environment_id, [m.fields["user_id"] for m in members]).values()
        )
        if email is not None:
            candidates = [c for c in candidates if c.attributes.get("email") == email]
    else:
        candidates = users.every(
            environment_id,
            email=email,
            bound=SORT_READ_BUDGET,
            too_many=_SORTED_TOO_MANY.format(what="user"),
        )
    if condition is not None:
        context = _memberships_of(environment_id, candidates) if _needs_groups(condition) else None
        matches = _user_matcher(condition, context)
        candidates = [c for c in candidates if matches(c)]
    return _sorted_page(candidates, query)


def _indexed_order(query: ListQuery) -> str | None:
    """The ordered attribute whose entries give this order: `attributes.<name>` alone, or
    followed by `created_at` the same way (entries break ties by creation)."""
    first, *rest = query.order_by
    name = first.field.removeprefix("attributes.")
    if name == first.field or name not in ORDERED_ATTRIBUTES:
        return None
    if rest and [(o.field, o.descending) for o in rest] != [("created_at", first.descending)]:
        return None
    return name


def list_groups(environment_id: str, query: ListQuery) -> Page[Record]:
    condition = _condition(environment_id, query.filters)
    user_id = query.filters.get("user_id")
    in_creation_order = [o.field for o in query.order_by] == ["created_at"]
    if user_id is None and in_creation_order:
        if condition is None:
            return groups.list_page(
                environment_id,
                limit=query.limit,
                descending=query.order_by[0].descending,
                starting_after=query.starting_after,
            )
        batches = groups.in_creation_order(
            environment_id,
            descending=query.order_by[0].descending,
            starting_after=query.starting_after,
            page_size=100,
        )
        return _first_matches(
            batches,
            limit=query.limit,
            budget=FILTER_EXAMINE_BUDGET,
            matcher_for=lambda batch: _group_matcher(condition),
        )

    if user_id is not None:
        owned = memberships.of_user(
            environment_id,
            user_id,
            bound=SORT_READ_BUDGET,
            too_many=(
                f"Invalid `user_id`: user {user_id!r} has more than {SORT_READ_BUDGET:,} groups."
            ),
        )
        candidates = list(
            groups.get_many(environment_id, [m.fields["group_id"] for m in owned]).values()
        )
    else:
        candidates = groups.every(
            environment_id, bound=SORT_READ_BUDGET, too_many=_SORTED_TOO_MANY.format(what="group")
        )
    if condition is not None:
        matches = _group_matcher(condition)
        candidates = [c for c in candidates if matches(c)]
    return _sorted_page(candidates, query)


def condition_of(environment_id: str, text: str | None) -> conditions.Condition | None:
    """A condition given as JSON text (an export's), parsed as a list's `condition`."""
    return _condition(environment_id, {"condition": text} if text is not None else {})


def users_matching(
    environment_id: str, condition: conditions.Condition | None, batch: Sequence[Record]
) -> list[Record]:
    """The users of `batch` the condition matches (with their memberships and groups when it
    names them), in order; every user without a condition."""
    if condition is None:
        return list(batch)
    context = _memberships_of(environment_id, batch) if _needs_groups(condition) else None
    matches = _user_matcher(condition, context)
    return [record for record in batch if matches(record)]


def groups_matching(
    condition: conditions.Condition | None, batch: Sequence[Record]
) -> list[Record]:
    if condition is None:
        return list(batch)
    matches = _group_matcher(condition)
    return [record for record in batch if matches(record)]


def _condition(environment_id: str, filters: dict[str, str]) -> conditions.Condition | None:
    """`condition` and `segment_id` together mean both must hold."""
    parsed = []
    if "condition" in filters:
        parsed.append(conditions.parse_condition_text(filters["condition"]))
    if "segment_id" in filters:
        segment = segments.get(environment_id, filters["segment_id"])
        if segment is None:
            raise InvalidInput(f"Invalid `segment_id`: no segment {filters['segment_id']!r}.")
        parsed.append(conditions.parse_condition(segment.condition))
    if not parsed:
        return None
    return parsed[0] if len(parsed) == 1 else conditions.Clause("and", tuple(parsed))


def _first_matches(
    batches: Iterator[list[Record]],
    *,
    limit: int,
    budget: int,
    matcher_for: Callable[[list[Record]], Matcher],
) -> Page[Record]:
    """The first `limit` matches in index order, examining at most `budget` objects."""
    found: list[Record] = []
    examined = 0
    for batch in batches:
        batch = batch[: budget - examined]
        matches = matcher_for(batch)
        for record in batch:
            examined += 1
            if matches(record):
                found.append(record)
                if len(found) > limit:
                    return Page(items=found[:limit], has_more=True)
        if examined >= budget:
            return Page(items=found, has_more=True, resume_after=batch[-1].id)
    return Page(items=found, has_more=False)


def _sorted_page(records: list[Record], query: ListQuery) -> Page[Record]:
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


def _value(record: Record, field: str) -> Any:
    if field == "created_at":
        return record.created_at
    return record.attributes.get(field.removeprefix("attributes."))


def _needs_groups(condition: conditions.Condition) -> bool:
    return conditions.references_scope(condition, "group") or conditions.references_scope(
        condition, "group_membership"
    )


def _memberships_of(environment_id: str, candidates: Sequence[Record]) -> MembershipContext:
    """Each candidate user's memberships with their groups: a Query per user (side by side)
    for a few users, the environment's membership index for many."""
    ids = [c.id for c in candidates]
    if len(ids) <= FILTER_EXAMINE_BUDGET_WITH_MEMBERSHIPS:
        by_user = memberships.of_users(
            environment_id,
            ids,
            bound=SORT_READ_BUDGET,
            too_many=f"User {{id!r}} has more than {SORT_READ_BUDGET:,} memberships to test.",
        )
    else:
        wanted = set(ids)
        by_user = {}
        every = memberships.of_environment(
            environment_id,
            bound=SORT_READ_BUDGET,
            too_many=(
                "Invalid `condition`: it uses group or membership attributes, and sorting by "
                f"attributes would test more than {SORT_READ_BUDGET:,} memberships; order by "
                "created_at (the default) to page through the matches."
            ),
        )
        for membership in every:
            if membership.fields["user_id"] in wanted:
                by_user.setdefault(membership.fields["user_id"], []).append(membership)
    group_ids = [m.fields["group_id"] for ms in by_user.values() for m in ms]
    found = groups.get_many(environment_id, group_ids)
    return {
        user_id: [(m, found.get(m.fields["group_id"])) for m in ms]
        for user_id, ms in by_user.items()
    }


def _user_matcher(condition: conditions.Condition, context: MembershipContext | None) -> Matcher:
    """A user matches when its own attributes (and, for `group/` and `group_membership/`
    names, one of its memberships with its group) satisfy the condition."""
    if context is None:
        return lambda record: conditions.evaluate(
            condition, lambda scope, name: record.attributes.get(name) if scope == "user" else None
        )

    def matches(record: Record) -> bool:
        contexts: Iterable[tuple[Record | None, Record | None]] = context.get(record.id) or [
            (None, None)
        ]
        for membership, group in contexts:

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

    return matches


def _group_matcher(condition: conditions.Condition) -> Matcher:
    # On groups, unprefixed and `group/` names both mean the group's own attributes.
    return lambda record: conditions.evaluate(
        condition,
        lambda scope, name: record.attributes.get(name) if scope in ("user", "group") else None,
    )
