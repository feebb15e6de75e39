"""Segments (an extension): a name and a condition, listed by creation (GSI1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Any

from shared.clock import now_iso
from shared.domain import limits
from shared.domain.errors import InvalidInput
from shared.ids import new_id
from shared.store import dynamo, keys
from shared.store.pages import CreationOrder, Page


@dataclass(frozen=True)
class Segment:
    id: str
    name: str
    condition: dict[str, Any]
    created_at: str
    updated_at: str


def _segment(item: dict[str, Any]) -> Segment:
    return Segment(
        id=item["id"],
        name=item["name"],
        condition=json.loads(item["condition"]),
        created_at=item["created_at"],
        updated_at=item["updated_at"],
    )


def _condition_text(condition: dict[str, Any]) -> str:
    """A condition as stored: JSON text (it is read whole and never queried into)."""
    text = json.dumps(condition, ensure_ascii=False, separators=(",", ":"))
    if limits.utf8_size(text) > limits.MAX_SEGMENT_CONDITION_BYTES:
        raise InvalidInput(
            f"Invalid `condition`: at most {limits.MAX_SEGMENT_CONDITION_BYTES:,} bytes as JSON "
            "(UTF-8)."
        )
    return text


def create(environment_id: str, name: str, condition: dict[str, Any]) -> Segment:
    now = now_iso()
    text = _condition_text(condition)
    segment = Segment(new_id(), name, condition, now, now)
    dynamo.client().put_item(
        TableName=dynamo.table_name(),
        Item=dynamo.to_item(
            {
                **keys.segment(environment_id, segment.id),
                "GSI1PK": keys.segments_listing(environment_id),
                "GSI1SK": keys.created_order(now, segment.id),
                "id": segment.id,
                "name": name,
                "condition": text,
                "created_at": now,
                "updated_at": now,
            }
        ),
    )
    return segment


def get(environment_id: str, segment_id: str) -> Segment | None:
    found = dynamo.client().get_item(
        TableName=dynamo.table_name(), Key=dynamo.to_item(keys.segment(environment_id, segment_id))
    )
    return _segment(dynamo.from_item(found["Item"])) if "Item" in found else None


def update(
    environment_id: str,
    segment_id: str,
    *,
    name: str | None,
    condition: dict[str, Any] | None,
) -> Segment | None:
    """Returns None when the segment does not exist."""
    changes: dict[str, Any] = {"updated_at": now_iso()}
    if name is not None:
        changes["name"] = name
    if condition is not None:
        changes["condition"] = _condition_text(condition)
    item = dynamo.update_existing(keys.segment(environment_id, segment_id), changes)
    return _segment(item) if item is not None else None


def delete(environment_id: str, segment_id: str) -> None:
    dynamo.client().delete_item(
        TableName=dynamo.table_name(), Key=dynamo.to_item(keys.segment(environment_id, segment_id))
    )


def list_page(
    environment_id: str, *, limit: int, descending: bool, starting_after: str | None
) -> Page[Segment]:
    listing = CreationOrder(
        index="GSI1",
        partition=keys.segments_listing(environment_id),
        load=partial(get, environment_id),
        table_key=partial(keys.segment, environment_id),
        what="segment",
    )
    page = listing.page(limit=limit, descending=descending, starting_after=starting_after)
    return Page(items=[_segment(i) for i in page.items], has_more=page.has_more)
