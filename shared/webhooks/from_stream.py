"""Notifications derived from one table stream record (its old and new images).

Only what the reference has topics for becomes a notification: users and groups created or
updated (with the attributes that changed), and events tracked. Deletions, memberships and
bookkeeping items send nothing, nor does a write that left every attribute as it was.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from shared.domain.objects import event_object, group_object, user_object
from shared.store.changes import EventTracked, RecordChange, decode_change
from shared.webhooks.notifications import Notification

# Fixed forever: notification ids are uuid5(namespace, "<stream event id>/<topic>"), so a
# replayed stream record yields the notifications (and ids) it yielded the first time.
NOTIFICATION_NAMESPACE = uuid.UUID("183121c9-1a10-4c72-93b0-17516870edc8")


def notifications_from_change(
    event_id: str,
    old_image: dict[str, Any] | None,
    new_image: dict[str, Any] | None,
    created_at: str,
) -> list[Notification]:
    """The notifications of one stream record (`event_id` is the record's `eventID`).

    Images are deserialized items (numbers may still be `Decimal`s).
    """
    change = decode_change(old_image, new_image)
    if change is None:
        return []

    def notification(topic: str, data: dict[str, Any]) -> Notification:
        notification_id = str(uuid.uuid5(NOTIFICATION_NAMESPACE, f"{event_id}/{topic}"))
        return Notification(notification_id, change.environment_id, topic, created_at, data)

    if isinstance(change, EventTracked):
        data = {"object": event_object(change.event)}
        return [notification(f"event.tracked.{change.event.name}", data)]
    return _created_or_updated(change, notification)


def _created_or_updated(
    change: RecordChange, notification: Callable[[str, dict[str, Any]], Notification]
) -> list[Notification]:
    kind, record = change.kind, change.new
    api_object = user_object(record) if kind == "user" else group_object(record)
    if change.old is None:
        return [notification(f"{kind}.created", {"object": api_object})]
    before = change.old.attributes
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


def _json(value: Any) -> str:
    """A value's identity for change detection: `True`, `1` and `"1"` all differ."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
