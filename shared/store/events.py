"""Events: in their user's partition (or their group's), SK `EV#<id>`.

Event ids sort by creation, so they are the order of every event list and their own cursor.
GSI1 lists an environment's events, GSI2 one event name's (both in shards: keys.EVENT_SHARDS),
GSI3 a group's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.clock import now_iso
from shared.domain import limits
from shared.domain.errors import InvalidInput
from shared.ids import sortable_id
from shared.store import dynamo, keys, sharded
from shared.store.pages import Page, query_page


@dataclass(frozen=True)
class Event:
    id: str
    name: str
    user_id: str | None
    group_id: str | None
    time: str
    created_at: str
    attributes: dict[str, Any]


def event_from_item(item: dict[str, Any]) -> Event:
    return Event(
        id=item["id"],
        name=item["name"],
        user_id=item.get("user_id"),
        group_id=item.get("group_id"),
        time=item["time"],
        created_at=item["created_at"],
        attributes=dict(sorted(item.get("attributes", {}).items())),
    )


def track(
    environment_id: str,
    *,
    name: str,
    user_id: str | None,
    group_id: str | None,
    attributes: dict[str, Any],
    time: str | None,
) -> Event:
    event, item = new_event(
        environment_id,
        name=name,
        user_id=user_id,
        group_id=group_id,
        attributes=attributes,
        time=time,
    )
    dynamo.client().put_item(TableName=dynamo.table_name(), Item=dynamo.to_item(item))
    return event


def new_event(
    environment_id: str,
    *,
    name: str,
    user_id: str | None,
    group_id: str | None,
    attributes: dict[str, Any],
    time: str | None,
) -> tuple[Event, dict[str, Any]]:
    """A new event and the item that stores it (written by `track`, or in bulk by imports).

    Refuses (400) an event over the size limit: it is checked here, before any write.
    """
    event_id = sortable_id()
    created_at = now_iso()
    event = Event(event_id, name, user_id, group_id, time or created_at, created_at, attributes)
    item: dict[str, Any] = {
        **keys.event(environment_id, user_id, group_id, event_id),
        "id": event_id,
        "name": name,
        "time": event.time,
        "created_at": created_at,
        "attributes": attributes,
        "GSI1PK": keys.events_listing_shard(environment_id, event_id),
        "GSI1SK": event_id,
        "GSI2PK": keys.events_by_name_listing_shard(environment_id, name, event_id),
        "GSI2SK": event_id,
    }
    if user_id:
        item["user_id"] = user_id
    if group_id:
        item["group_id"] = group_id
        item["GSI3PK"] = keys.group_events_listing(environment_id, group_id)
        item["GSI3SK"] = event_id
    size = limits.item_size(item)
    if size > limits.MAX_EVENT_BYTES:
        raise InvalidInput(
            f"Invalid `attributes`: the event would take {size:,} bytes; an event holds at most "
            f"{limits.MAX_EVENT_BYTES:,} bytes (UTF-8, with its ids and name)."
        )
    return event, item


def list_page(
    environment_id: str,
    *,
    limit: int,
    starting_after: str | None,
    descending: bool = True,
    user_id: str | None = None,
    group_id: str | None = None,
    name: str | None = None,
) -> Page[Event]:
    """In creation order (newest first by default).

    Every event (GSI1) or a name's (GSI2) is a merge of the shards; a user's events are its
    partition, a group's one GSI3 partition. A second filter is applied to the owner's
    partition as it is read, within `FILTER_EXAMINE_BUDGET` events a request (the page then
    ends early with a cursor).
    """
    if user_id is None and group_id is None:
        # Every event, or one name's: written in shards, read from all of them.
        listings = (
            keys.events_listings(environment_id)
            if name is None
            else keys.events_by_name_listings(environment_id, name)
        )
        merged = sharded.page(
            index="GSI1" if name is None else "GSI2",
            partitions=listings,
            limit=limit,
            descending=descending,
            beyond=starting_after,
        )
        return Page(items=[event_from_item(i) for i in merged.items], has_more=merged.has_more)
    index: str | None
    if user_id is not None:
        index, partition = None, keys.user(environment_id, user_id)["PK"]
    else:
        index, partition = "GSI3", keys.group_events_listing(environment_id, group_id or "")
    start = None
    if starting_after and index is None:
        start = {"PK": partition, "SK": keys.event_sort_key(starting_after)}
    filters: list[str] = []
    values: dict[str, Any] = {}
    if group_id is not None and user_id is not None:
        filters.append("group_id = :group")
        values[":group"] = group_id
    if name is not None:
        filters.append("#name = :name")
        values[":name"] = name
    filtered = bool(filters)
    page = query_page(
        index=index,
        partition=partition,
        partition_attribute=None if index else "PK",
        sort_prefix=None if index else keys.EVENT_PREFIX,
        limit=limit,
        descending=descending,
        start_key=start,
        sort_beyond=starting_after if index else None,
        filter_expression=" AND ".join(filters) or None,
        filter_values=values,
        filter_names={"#name": "name"} if filtered and name is not None else None,
        examine_budget=limits.FILTER_EXAMINE_BUDGET,
        cursor_of=lambda key: keys.event_id_of(key, index),
    )
    return Page(
        items=[event_from_item(i) for i in page.items],
        has_more=page.has_more,
        resume_after=page.resume_after,
    )
