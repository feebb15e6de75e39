"""Upserts and tracking: validate everything first, then write, then record definitions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial

from aws_lambda_powertools import Logger

from shared.clock import format_timestamp
from shared.domain.attributes import AttributeChange, Operation, parse_changes, parse_datetime
from shared.domain.attributes import validate_name as validate_attribute_name
from shared.domain.errors import InvalidInput
from shared.http.models import TrackEventBody, UpsertGroupBody, UpsertUserBody
from shared.store import definitions, events, groups, memberships, users
from shared.store.attributed import Record
from shared.store.events import Event

# A user upsert with many groups writes each group and membership; doing those writes side by
# side keeps its latency near one round trip (the client's pool holds 10 connections).
_PARALLEL_WRITES = 8
_writers = ThreadPoolExecutor(max_workers=_PARALLEL_WRITES, thread_name_prefix="writes")
logger = Logger()


def _run_all(writes: list[Callable[[], object]]) -> None:
    """Run independent writes concurrently; the first failure is raised after all finish."""
    if len(writes) <= 1:
        for write in writes:
            write()
        return
    futures = [_writers.submit(write) for write in writes]
    for future in futures:
        future.result()


def _types(changes: Iterable[AttributeChange]) -> dict[str, str]:
    return {c.name: c.data_type.value for c in changes if c.data_type is not None}


def upsert_user(environment_id: str, body: UpsertUserBody) -> Record:
    user_changes = parse_changes(body.attributes)
    planned = []
    seen: set[str] = set()
    key = "memberships" if body.memberships is not None else "groups"
    for index, membership in enumerate(body.membership_list()):
        group = membership.group
        if group.id in seen:
            raise InvalidInput(f"Invalid `{key}[{index}]`: group {group.id!r} is listed twice.")
        seen.add(group.id)
        group_path = (
            f"{key}[{index}].group.attributes"
            if key == "memberships"
            else (f"{key}[{index}].attributes")
        )
        planned.append(
            (
                group.id,
                parse_changes(group.attributes, group_path),
                parse_changes(membership.attributes, f"{key}[{index}].attributes"),
            )
        )

    user = users.upsert(environment_id, body.id, user_changes)
    writes: list[Callable[[], object]] = []
    for group_id, group_changes, membership_changes in planned:
        writes.append(partial(groups.upsert, environment_id, group_id, group_changes))
        writes.append(
            partial(memberships.upsert, environment_id, body.id, group_id, membership_changes)
        )
    _run_all(writes)
    if body.prune_memberships:
        stale = [
            m
            for m in memberships.of_user(environment_id, body.id)
            if m.fields["group_id"] not in seen
        ]
        memberships.delete_records(environment_id, stale)

    _record_definitions(environment_id, "user", user_changes)
    for _, group_changes, membership_changes in planned:
        _record_definitions(environment_id, "group", group_changes)
        _record_definitions(environment_id, "group_membership", membership_changes)
    return user


def upsert_group(environment_id: str, body: UpsertGroupBody) -> Record:
    changes = parse_changes(body.attributes)
    group = groups.upsert(environment_id, body.id, changes)
    _record_definitions(environment_id, "group", changes)
    return group


def track_event(environment_id: str, body: TrackEventBody) -> Event:
    validate_attribute_name(body.name, "event")
    changes = parse_changes(body.attributes)
    for change in changes:
        if change.operation not in (Operation.SET, Operation.UNSET):
            raise InvalidInput(
                f"Invalid `attributes.{change.name}`: event attributes take values "
                f"(or `set` with a `data_type`), not `{change.operation.value}`."
            )
    values = {c.name: c.value for c in changes if c.operation is Operation.SET}
    event = events.track(
        environment_id,
        name=body.name,
        user_id=body.user_id,
        group_id=body.group_id,
        attributes=values,
        time=_event_time(body.time),
    )
    try:
        definitions.record_event(environment_id, body.name)
    except Exception:
        logger.exception("Could not record an event definition; the event is stored")
    _record_definitions(environment_id, "event", changes, event_name=body.name)
    return event


def _record_definitions(
    environment_id: str,
    scope: str,
    changes: list[AttributeChange],
    event_name: str | None = None,
) -> None:
    """Definitions are a by-product: the data is already stored, so a failure here is logged
    and the request still succeeds (the next write of that name tries again)."""
    types = _types(changes)
    if not types:
        return
    try:
        definitions.record_attributes(environment_id, scope, types, event_name=event_name)
    except Exception:
        logger.exception("Could not record attribute definitions; the data is stored")


def _event_time(text: str | None) -> str | None:
    if text is None:
        return None
    moment = parse_datetime(text)
    if moment is None:
        raise InvalidInput(f"Invalid `time` {text[:60]!r}: must be an ISO 8601 date time.")
    if moment > datetime.now(UTC) + timedelta(days=366):
        raise InvalidInput("Invalid `time`: more than a year in the future.")
    return format_timestamp(moment)
