"""Attribute and event definitions, created the first time a name is written.

A warm container remembers what it has written, so a definition costs one write per
container lifetime, not one per request.

Which events use an event attribute is one small item per (event name, attribute name),
not a set on the definition: a set grows with every event name, and past DynamoDB's 400 KB
item limit every new name would fail. Definitions written before kept such a set
(`event_names`); it is still read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from shared.clock import now_iso
from shared.domain.limits import DEFINITIONS_READ_BUDGET
from shared.ids import new_id
from shared.store import dynamo, keys
from shared.store.bulk import query_all
from shared.store.parallel import run_all

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
    """Ensure a definition exists for each attribute name -> data type (and, for event
    attributes, that `event_name` is recorded as using it). Returns writes made."""
    writes = 0
    for name, data_type in types.items():
        seen = (environment_id, scope, name, "")
        if seen not in _written:
            dynamo.client().update_item(
                TableName=dynamo.table_name(),
                Key=dynamo.to_item(keys.attribute_definition(environment_id, scope, name)),
                UpdateExpression=(
                    "SET id = if_not_exists(id, :id), #name = :name, #scope = :scope, "
                    "data_type = if_not_exists(data_type, :type), "
                    "created_at = if_not_exists(created_at, :now), "
                    "display_name = if_not_exists(display_name, :display)"
                ),
                ExpressionAttributeNames={"#name": "name", "#scope": "scope"},
                ExpressionAttributeValues=dynamo.to_item(
                    {
                        ":id": new_id(),
                        ":name": name,
                        ":scope": scope,
                        ":type": data_type,
                        ":now": now_iso(),
                        ":display": display_name(name),
                    }
                ),
            )
            _written.add(seen)
            writes += 1
        used = (environment_id, scope, name, event_name or "")
        if event_name and used not in _written:
            dynamo.client().put_item(
                TableName=dynamo.table_name(),
                Item=dynamo.to_item(
                    {
                        **keys.event_attribute_use(environment_id, event_name, name),
                        "event_name": event_name,
                        "attribute_name": name,
                    }
                ),
            )
            _written.add(used)
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
    """Every attribute definition (at most DEFINITIONS_READ_BUDGET, or a 400)."""
    items = query_all(
        partition=keys.definitions(environment_id),
        sort_prefix=keys.ATTRIBUTE_DEFINITION_PREFIX,
        bound=DEFINITIONS_READ_BUDGET,
    )
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


def event_attribute_names(environment_id: str, event_names: Iterable[str]) -> set[str]:
    """The attribute names used by any of `event_names` (one Query per name, side by side)."""
    found = run_all(
        [
            partial(
                query_all,
                partition=keys.definitions(environment_id),
                sort_prefix=keys.event_attribute_uses_prefix(event_name),
                bound=DEFINITIONS_READ_BUDGET,
            )
            for event_name in dict.fromkeys(event_names)
        ]
    )
    return {item["attribute_name"] for items in found for item in items}


def event_definitions(environment_id: str) -> list[EventDefinition]:
    """Every event definition (at most DEFINITIONS_READ_BUDGET, or a 400)."""
    items = query_all(
        partition=keys.definitions(environment_id),
        sort_prefix=keys.EVENT_DEFINITION_PREFIX,
        bound=DEFINITIONS_READ_BUDGET,
    )
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
