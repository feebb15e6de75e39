"""Table stream images decoded into the objects they hold: the store's side of the stream.

A stream record carries an item's old and new images; only the store knows what the keys
and attribute names mean, so turning an image back into a user, a group or an event happens
here, and the webhook rules above see only records.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.store import keys
from shared.store.attributed import Record, record_from_item
from shared.store.events import Event, event_from_item


@dataclass(frozen=True)
class RecordChange:
    """A user or a group written: `old` is None when the write created it."""

    environment_id: str
    kind: str  # "user" or "group"
    old: Record | None
    new: Record


@dataclass(frozen=True)
class EventTracked:
    environment_id: str
    event: Event


Change = RecordChange | EventTracked


def decode_change(
    old_image: dict[str, Any] | None, new_image: dict[str, Any] | None
) -> Change | None:
    """The change one stream record describes, or None for anything that sends nothing:
    deletions, memberships, bookkeeping items, and events written again.

    Images are deserialized items (numbers may still be `Decimal`s, sets Python sets).
    """
    if new_image is None:
        return None  # a deletion
    new = _plain(new_image)
    partition, sort = new.get("PK"), new.get("SK")
    if not isinstance(partition, str) or not isinstance(sort, str):
        return None
    found = keys.data_key_of(partition, sort)
    if found is None:
        return None
    if found.kind == "event":
        if old_image is not None:
            return None  # events are written once; only their creation is news
        return EventTracked(found.environment_id, event_from_item(new))
    old = record_from_item(_plain(old_image)) if old_image is not None else None
    return RecordChange(found.environment_id, found.kind, old, record_from_item(new))


def _plain(value: Any) -> Any:
    """Numbers as `int`/`float` and sets as sorted lists, as `dynamo.from_item` returns them."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    return value
