"""Upserts: validate everything first, then write, then record definitions (events:
tracking.py).

A user upsert with groups writes up to 201 items. All of them are planned and checked (ids,
attribute rules, and every item's size after the write, from one batched read) before the
first write, so a request that breaks a limit writes nothing. The writes then run in two
waves: the user and its groups, then the memberships linking them, so a failure part-way
(a throttle, a lost connection) can leave objects without links, never a link to an object
that was not written; the client's retry completes it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from shared.clock import now_iso
from shared.domain.attributes import (
    UNSUBSCRIBED_ATTRIBUTE,
    AttributeChange,
    DataType,
    Operation,
    parse_changes,
)
from shared.domain.errors import InvalidInput, Unknown
from shared.domain.search import SEARCH_FIELDS, index_terms
from shared.services import definitions
from shared.store import (
    attributed,
    groups,
    memberships,
    search,
    user_order,
    users,
)
from shared.store.attributed import Record, Upsert
from shared.store.keys import ORDERED_ATTRIBUTES
from shared.store.parallel import run_all

if TYPE_CHECKING:
    # Annotations only: the body models (pydantic) load where a route parses one.
    from shared.http.models import UpsertGroupBody, UpsertUserBody


def upsert_user(environment_id: str, body: UpsertUserBody) -> Record:
    user = users.planned_upsert(environment_id, body.id, parse_changes(body.attributes))
    linked: list[tuple[Upsert, Upsert]] = []  # (group, membership)
    seen: set[str] = set()
    key = "memberships" if body.memberships is not None else "groups"
    for index, membership in enumerate(body.membership_list()):
        group = membership.group
        if group.id in seen:
            raise InvalidInput(f"Invalid `{key}[{index}]`: group {group.id!r} is listed twice.")
        seen.add(group.id)
        item = f"{key}[{index}]"
        group_path = f"{item}.group.attributes" if key == "memberships" else f"{item}.attributes"
        linked.append(
            (
                groups.planned_upsert(
                    environment_id,
                    group.id,
                    parse_changes(group.attributes, group_path),
                    group_path,
                ),
                memberships.planned_upsert(
                    environment_id,
                    body.id,
                    group.id,
                    parse_changes(membership.attributes, f"{item}.attributes"),
                    f"{item}.attributes",
                ),
            )
        )

    planned = [user, *(upsert for pair in linked for upsert in pair)]
    current = attributed.read_current(planned)
    for upsert in planned:
        attributed.check(upsert, current.get(upsert.key_tuple))

    def writing(upsert: Upsert) -> Callable[[], Record]:
        return partial(attributed.write, upsert, current.get(upsert.key_tuple))

    stored = run_all([writing(user), *(writing(group) for group, _ in linked)])[0]
    created = user.key_tuple not in current
    run_all(
        [
            *_search_entry_writes(environment_id, stored, user.changes, created=created),
            *_order_entry_writes(environment_id, stored, user.changes, created=created),
        ]
    )
    run_all([writing(membership) for _, membership in linked])
    if body.prune_memberships:
        stale = [
            m
            for m in memberships.of_user(environment_id, body.id)
            if m.fields["group_id"] not in seen
        ]
        memberships.delete_records(environment_id, stale)

    definitions.record_attributes(environment_id, "user", user.changes)
    for group_upsert, membership_upsert in linked:
        definitions.record_attributes(environment_id, "group", group_upsert.changes)
        definitions.record_attributes(environment_id, "group_membership", membership_upsert.changes)
    return stored


def _search_entry_writes(
    environment_id: str, stored: Record, changes: list[AttributeChange], *, created: bool
) -> list[Callable[[], None]]:
    """Index what the write touched of the user's id, email and name, as stored after it (a
    new user: every value it has)."""
    touched = {c.name for c in changes} & set(SEARCH_FIELDS[1:])
    terms = {
        field: term
        for field, term in index_terms(stored.id, stored.attributes).items()
        if field in touched or (created and term is not None)
    }
    return search.entry_writes(environment_id, stored.id, int(stored.fields["v"]), terms)


def _order_entry_writes(
    environment_id: str, stored: Record, changes: list[AttributeChange], *, created: bool
) -> list[Callable[[], None]]:
    """Place the user by each ordered attribute the write touched, as stored after it (a new
    user: by every ordered attribute, missing ones too, so that it is listed)."""
    touched = {c.name for c in changes}
    return user_order.entry_writes(
        environment_id,
        stored,
        {
            name: stored.attributes.get(name)
            for name in ORDERED_ATTRIBUTES
            if created or name in touched
        },
    )


def set_content_subscription(environment_id: str, user_id: str, *, subscribed: bool) -> Record:
    """Opt a user out of content (`content_unsubscribed_at`, set once: unsubscribing again
    keeps the first time) or back in (the attribute removed). An attribute like any other: it
    reaches webhooks as `user.updated`, and POST /users may set or unset it too. An unknown
    user is a 404: nothing is created."""
    change = (
        AttributeChange(UNSUBSCRIBED_ATTRIBUTE, Operation.UNSET, None, None)
        if subscribed
        else AttributeChange(
            UNSUBSCRIBED_ATTRIBUTE, Operation.SET_ONCE, now_iso(), DataType.DATETIME
        )
    )
    planned = users.planned_upsert(environment_id, user_id, [change], must_exist=True)
    try:
        stored = attributed.upsert(planned)
    except attributed.MissingItem:
        raise Unknown(f"No user with id {user_id!r}.") from None
    definitions.record_attributes(environment_id, "user", planned.changes)
    return stored


def upsert_group(environment_id: str, body: UpsertGroupBody) -> Record:
    planned = groups.planned_upsert(environment_id, body.id, parse_changes(body.attributes))
    group = attributed.upsert(planned)
    definitions.record_attributes(environment_id, "group", planned.changes)
    return group
