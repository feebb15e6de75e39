"""Notifications derived from one table stream record (its old and new images).

Only what the reference has topics for becomes a notification: users and groups created or
updated (with the attributes that changed), and events tracked. Deletions, memberships and
bookkeeping items send nothing, nor does a write that left every attribute as it was.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.domain.objects import event_object, group_object, user_object
from shared.store.attributed import record_from_item
from shared.store.events import event_from_item

# Fixed forever: notification ids are uuid5(namespace, "<stream event id>/<topic>"), so a
# replayed stream record yields the notifications (and ids) it yielded the first time.
NOTIFICATION_NAMESPACE = uuid.UUID("183121c9-1a10-4c72-93b0-17516870edc8")

USER_SORT_KEY = "U"
GROUP_SORT_KEY = "G"
EVENT_SORT_PREFIX = "EV#"


@dataclass(frozen=True)
class Notification:
    id: str
    environment_id: str
    topic: str
    created_at: str
    data: dict[str, Any]


def notifications_from_change(
    event_id: str,
    old_image: dict[str, Any] | None,
    new_image: dict[str, Any] | None,
    created_at: str,
) -> list[Notification]:
    """The notifications of one stream record (`event_id` is the record's `eventID`).

    Images are deserialized items (numbers may still be `Decimal`s).
    """
    if new_image is None:
        return []  # a deletion: the reference has no topics for it
    new = _plain(new_image)
    old = _plain(old_image) if old_image is not None else None
    sort_key, partition = new.get("SK"), new.get("PK")
    if not isinstance(sort_key, str) or not isinstance(partition, str):
        return []
    environment_id = _environment_id(partition)
    if environment_id is None:
        return []

    def notification(topic: str, data: dict[str, Any]) -> Notification:
        notification_id = str(uuid.uuid5(NOTIFICATION_NAMESPACE, f"{event_id}/{topic}"))
        return Notification(notification_id, environment_id, topic, created_at, data)

    if sort_key == USER_SORT_KEY and _kind(partition) == "U":
        return _created_or_updated("user", old, new, notification)
    if sort_key == GROUP_SORT_KEY and _kind(partition) == "G":
        return _created_or_updated("group", old, new, notification)
    if sort_key.startswith(EVENT_SORT_PREFIX) and _kind(partition) in ("U", "G"):
        if old is not None:
            return []  # events are written once; only their creation is news
        event = event_from_item(new)
        data = {"object": event_object(event)}
        return [notification(f"event.tracked.{event.name}", data)]
    return []


def _created_or_updated(
    kind: str,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    notification: Callable[[str, dict[str, Any]], Notification],
) -> list[Notification]:
    record = record_from_item(new)
    api_object = user_object(record) if kind == "user" else group_object(record)
    if old is None:
        return [notification(f"{kind}.created", {"object": api_object})]
    before = record_from_item(old).attributes
    after = record.attributes
    changed = sorted(
        name
        for name in before.keys() | after.keys()
        if name not in before or name not in after or _json(before[name]) != _json(after[name])
    )
    if not changed:
        return []
    data = {
        "object": api_object,
        "previous_attributes": {name: before.get(name) for name in changed},
        "updated_attributes": {name: after.get(name) for name in changed},
    }
    return [notification(f"{kind}.updated", data)]


def notification_body(n: Notification, api_version: str) -> bytes:
    """The request body: the reference's webhook notification object, as compact UTF-8 JSON."""
    payload = {
        "id": n.id,
        "object": "webhook_notification",
        "api_version": api_version,
        "created_at": n.created_at,
        "data": n.data,
        "topic": n.topic,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _environment_id(partition: str) -> str | None:
    # Data partitions are `E#<environment>#<kind>#<id>`; environment ids never contain '#'.
    parts = partition.split("#", 3)
    if len(parts) < 4 or parts[0] != "E" or not parts[1]:
        return None
    return parts[1]


def _kind(partition: str) -> str:
    return partition.split("#", 3)[2]


def _json(value: Any) -> str:
    """A value's identity for change detection: `True`, `1` and `"1"` all differ."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


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
