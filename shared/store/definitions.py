"""Attribute and event definitions, created the first time a name is written.

A warm container remembers what it has written, so a definition costs one write per
container lifetime, not one per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.clock import now_iso
from shared.ids import new_id
from shared.store import dynamo, keys
from shared.store.bulk import query_all

ATTRIBUTE_SCOPES = ("event", "group", "group_membership", "user")

# (environment, scope, name, event name or "") already written by this container.
_written: set[tuple[str, str, str, str]] = set()


@dataclass(frozen=True)
class AttributeDefinition:
    id: str
    name: str
    scope: str
    data_type: str
    created_at: str
    display_name: str
    description: str | None
    event_names: tuple[str, ...]


@dataclass(frozen=True)
class EventDefinition:
    id: str
    name: str
    created_at: str
    display_name: str
    description: str | None


def display_name(name: str) -> str:
    """`signed_up_at` -> "Signed Up At": what a person would call it."""
    words = name.replace("_", " ").replace("-", " ").split()
    return " ".join(word[:1].upper() + word[1:] for word in words) or name


def record_attributes(
    environment_id: str,
    scope: str,
    types: dict[str, str],
    event_name: str | None = None,
) -> int:
    """Ensure a definition exists for each attribute name -> data type. Returns writes made."""
    writes = 0
    for name, data_type in types.items():
        seen = (environment_id, scope, name, event_name or "")
        if seen in _written:
            continue
        expression = (
            "SET id = if_not_exists(id, :id), #name = :name, #scope = :scope, "
            "data_type = if_not_exists(data_type, :type), "
            "created_at = if_not_exists(created_at, :now), "
            "display_name = if_not_exists(display_name, :display)"
        )
        values: dict[str, Any] = {
            ":id": new_id(),
            ":name": name,
            ":scope": scope,
            ":type": data_type,
            ":now": now_iso(),
            ":display": display_name(name),
        }
        if event_name:
            expression += " ADD event_names :event"
            values[":event"] = {event_name}
        dynamo.client().update_item(
            TableName=dynamo.table_name(),
            Key=dynamo.to_item(keys.attribute_definition(environment_id, scope, name)),
            UpdateExpression=expression,
            ExpressionAttributeNames={"#name": "name", "#scope": "scope"},
            ExpressionAttributeValues=dynamo.to_item(values),
        )
        _written.add(seen)
        writes += 1
    return writes


def record_event(environment_id: str, name: str) -> int:
    seen = (environment_id, "event_definition", name, "")
    if seen in _written:
        return 0
    dynamo.client().update_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.event_definition(environment_id, name)),
        UpdateExpression=(
            "SET id = if_not_exists(id, :id), #name = :name, "
            "created_at = if_not_exists(created_at, :now), "
            "display_name = if_not_exists(display_name, :display)"
        ),
        ExpressionAttributeNames={"#name": "name"},
        ExpressionAttributeValues=dynamo.to_item(
            {":id": new_id(), ":name": name, ":now": now_iso(), ":display": display_name(name)}
        ),
    )
    _written.add(seen)
    return 1


def forget_written() -> None:
    """Empty the warm-container cache (tests)."""
    _written.clear()


def attribute_definitions(environment_id: str) -> list[AttributeDefinition]:
    items = query_all(partition=keys.definitions(environment_id), sort_prefix="A#", bound=100_000)
    return [
        AttributeDefinition(
            id=i["id"],
            name=i["name"],
            scope=i["scope"],
            data_type=i["data_type"],
            created_at=i["created_at"],
            display_name=i.get("display_name") or display_name(i["name"]),
            description=i.get("description"),
            event_names=tuple(sorted(i.get("event_names", ()))),
        )
        for i in items
    ]


def event_definitions(environment_id: str) -> list[EventDefinition]:
    items = query_all(partition=keys.definitions(environment_id), sort_prefix="E#", bound=100_000)
    return [
        EventDefinition(
            id=i["id"],
            name=i["name"],
            created_at=i["created_at"],
            display_name=i.get("display_name") or display_name(i["name"]),
            description=i.get("description"),
        )
        for i in items
    ]
