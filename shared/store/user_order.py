"""Users in the order of an attribute: an entry per user and ordered attribute in the user's
partition, `O#<attribute>`, in GSI3 by the attribute's sortable value (keys.attribute_order),
in one of keys.ORDER_SHARDS partitions.

Entries are written after the user, like the search entries (shared/store/search.py), each
conditional on the user's version being newer than the one it was written for (`uv`): of two
racing writes the later one's position stays. Every user has an entry for each ordered
attribute, a missing value included (it sorts after every value), so every user is listed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from shared.clock import now_iso
from shared.domain.errors import InvalidInput
from shared.domain.sortable import sortable
from shared.store import attributed, dynamo, keys, sharded, users
from shared.store.attributed import Record
from shared.store.bulk import delete_keys
from shared.store.pages import Page
from shared.store.parallel import run_all
from shared.store.tenancy import ORDER_READY

INDEX = "GSI3"


def entry_item(
    environment_id: str,
    user_id: str,
    created_at: str,
    version: int,
    attribute: str,
    value: Any,
) -> dict[str, Any]:
    """The entry placing the user by `value` of `attribute` (None: missing), as of `version`
    of the user (also what a backfill or a bench writes)."""
    return {
        **keys.order_entry(environment_id, user_id, attribute),
        "user_id": user_id,
        "uv": version,
        "created_at": now_iso(),
        "GSI3PK": keys.order_listing(environment_id, attribute, user_id),
        "GSI3SK": keys.attribute_order(sortable(value), created_at, user_id),
    }


def entry_writes(
    environment_id: str, user: Record, attributes: Mapping[str, Any]
) -> list[Callable[[], None]]:
    """The writes placing `user` (as stored) by each of `attributes` (name -> value)."""
    version = int(user.fields["v"])
    return [
        partial(
            _put,
            entry_item(environment_id, user.id, user.created_at, version, attribute, value),
        )
        for attribute, value in attributes.items()
    ]


def _put(item: dict[str, Any]) -> None:
    try:
        dynamo.client().put_item(
            TableName=dynamo.table_name(),
            Item=dynamo.to_item(item),
            ConditionExpression="attribute_not_exists(PK) OR uv < :uv",
            ExpressionAttributeValues=dynamo.to_item({":uv": item["uv"]}),
        )
    except Exception as error:
        if not dynamo.is_conditional_failure(error):
            raise
        # A later write of the user placed it already.


def is_ready(environment_id: str) -> bool:
    """Whether every user has its entries (else lists in these orders take the bounded
    in-memory path, which sees every user)."""
    found = attributed.get_item(keys.environment(environment_id))
    return bool(found and found.get(ORDER_READY))


def mark_ready(environment_id: str) -> None:
    dynamo.update_existing(keys.environment(environment_id), {ORDER_READY: True})


def backfill(environment_id: str, *, page_size: int = 100) -> int:
    """Gives every user its entries (those written before entries existed), then marks the
    environment ready; how many users it went through. Idempotent, and safe beside live
    writes: an entry is written only if none of the user's version or later is there."""
    placed = 0
    for records in users.in_creation_order(
        environment_id, descending=False, starting_after=None, page_size=page_size
    ):
        run_all(
            [
                write
                for record in records
                for write in entry_writes(
                    environment_id,
                    record,
                    {name: record.attributes.get(name) for name in keys.ORDERED_ATTRIBUTES},
                )
            ]
        )
        placed += len(records)
    mark_ready(environment_id)
    return placed


def delete_entries(environment_id: str, user_id: str) -> None:
    delete_keys(
        [keys.order_entry(environment_id, user_id, name) for name in keys.ORDERED_ATTRIBUTES]
    )


def page(
    environment_id: str,
    attribute: str,
    *,
    limit: int,
    descending: bool,
    starting_after: str | None,
) -> Page[Record]:
    """Users by `attribute`, ties in creation order: the shards merged, then the page's users
    read (one BatchGetItem); an entry whose user is gone is skipped."""
    beyond = None
    if starting_after is not None:
        anchor = attributed.get_item(keys.order_entry(environment_id, starting_after, attribute))
        if anchor is None or "GSI3SK" not in anchor:
            raise InvalidInput(f"Invalid `starting_after`: no user with id {starting_after!r}.")
        beyond = anchor["GSI3SK"]
    entries = sharded.page(
        index=INDEX,
        partitions=keys.order_listings(environment_id, attribute),
        limit=limit,
        descending=descending,
        beyond=beyond,
    )
    ids = [entry["user_id"] for entry in entries.items]
    found = {r.id: r for r in attributed.batch_get(keys.user(environment_id, i) for i in ids)}
    return Page(items=[found[i] for i in ids if i in found], has_more=entries.has_more)
