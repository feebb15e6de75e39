"""Which fields of which object types can be expanded, and into what."""

from __future__ import annotations

from collections.abc import Iterable

from shared.domain.errors import InvalidInput

MAX_EXPAND_DEPTH = 4

# object type -> expandable field -> the object type it expands into
EXPANDABLE: dict[str, dict[str, str]] = {
    "user": {"groups": "group", "memberships": "group_membership"},
    "group": {"users": "user", "memberships": "group_membership"},
    "group_membership": {"user": "user", "group": "group"},
    "event": {"user": "user", "group": "group"},
    "content": {"draft_version": "content_version", "published_version": "content_version"},
    "content_version": {"questions": "question", "tasks": "checklist_task"},
    "question": {},
    "checklist_task": {},
    "content_session": {
        "answers": "content_session_answer",
        "content": "content",
        "version": "content_version",
        "user": "user",
        "group": "group",
    },
    "content_session_answer": {},
    "segment": {},
    "attribute_definition": {},
    "event_definition": {},
}


def validate_expand_paths(object_type: str, paths: Iterable[str]) -> None:
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise InvalidInput(
                f"Invalid `expand` {path!r}: at most {MAX_EXPAND_DEPTH} levels can be expanded."
            )
        current = object_type
        for part in parts:
            target = EXPANDABLE.get(current, {}).get(part)
            if target is None:
                fields = ", ".join(sorted(EXPANDABLE.get(current, {}))) or "none"
                raise InvalidInput(
                    f"Invalid `expand` {path!r}: {current} has no expandable field {part!r} "
                    f"(expandable: {fields})."
                )
            current = target


def subpaths(paths: Iterable[str], field: str) -> list[str]:
    """The expansions below `field`: ["memberships.group"] -> ["group"] for "memberships"."""
    prefix = f"{field}."
    return [path[len(prefix) :] for path in paths if path.startswith(prefix)]


def wants(paths: Iterable[str], field: str) -> bool:
    return any(path == field or path.startswith(f"{field}.") for path in paths)
