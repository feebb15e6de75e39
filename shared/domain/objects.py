"""API objects as the reference shows them, built from stored records."""

from __future__ import annotations

from typing import Any


def user_object(
    user_id: str,
    created_at: str,
    attributes: dict[str, Any],
    *,
    groups: list[dict[str, Any]] | None = None,
    memberships: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": user_id,
        "object": "user",
        "attributes": attributes,
        "created_at": created_at,
        "groups": groups,
        "memberships": memberships,
    }


def deleted_object(object_type: str, object_id: str) -> dict[str, Any]:
    return {"id": object_id, "object": object_type, "deleted": True}
