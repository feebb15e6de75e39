"""API objects as the reference shows them, built from stored records: users, groups,
memberships and events (content, versions and sessions: content_objects.py).

Expandable fields default to null; the expander fills them in.
"""

from __future__ import annotations

from typing import Any, Protocol


class AttributedRecord(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> str: ...
    @property
    def attributes(self) -> dict[str, Any]: ...
    @property
    def fields(self) -> dict[str, Any]: ...


def user_object(record: AttributedRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "object": "user",
        "attributes": record.attributes,
        "created_at": record.created_at,
        "groups": None,
        "memberships": None,
    }


def group_object(record: AttributedRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "object": "group",
        "attributes": record.attributes,
        "created_at": record.created_at,
        "memberships": None,
        "users": None,
    }


def membership_object(record: AttributedRecord) -> dict[str, Any]:
    return {
        "id": record.fields["id"],
        "object": "group_membership",
        "attributes": record.attributes,
        "created_at": record.created_at,
        "group": None,
        "group_id": record.fields["group_id"],
        "user": None,
        "user_id": record.fields["user_id"],
    }


class EventRecord(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def group_id(self) -> str | None: ...
    @property
    def time(self) -> str: ...
    @property
    def created_at(self) -> str: ...
    @property
    def attributes(self) -> dict[str, Any]: ...


def event_object(event: EventRecord) -> dict[str, Any]:
    return {
        "id": event.id,
        "object": "event",
        "attributes": event.attributes,
        "created_at": event.created_at,
        "group": None,
        "group_id": event.group_id,
        "name": event.name,
        "time": event.time,
        "user": None,
        "user_id": event.user_id,
    }


def deleted_object(object_type: str, object_id: str) -> dict[str, Any]:
    return {"id": object_id, "object": object_type, "deleted": True}
