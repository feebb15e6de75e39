"""Writes and reads of items that carry attributes: users, groups and memberships.

Each attribute is a top-level item attribute `a#<name>`, so one UpdateItem creates or
updates an item and every operation DynamoDB can do natively (`SET`, `if_not_exists`, `ADD`,
`REMOVE`) stays atomic under concurrency. List operations (append/prepend/remove) must dedupe
against the stored list, so they read first and write conditionally on the version counter
`v`, retrying on a conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from shared.clock import now_iso
from shared.domain.attributes import (
    AttributeChange,
    Operation,
    apply_changes,
    needs_current_value,
)
from shared.domain.errors import Conflict, InvalidInput
from shared.store import dynamo

ATTRIBUTE_PREFIX = "a#"
MAX_WRITE_ATTEMPTS = 25


@dataclass(frozen=True)
class Record:
    """A stored object with attributes, plus its non-attribute fields (ids, created_at...)."""

    id: str
    created_at: str
    attributes: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)


class ConflictError(Conflict):
    """Too many concurrent writers changed the same item; the client may retry."""


def record_from_item(item: dict[str, Any]) -> Record:
    attributes = {
        name[len(ATTRIBUTE_PREFIX) :]: value
        for name, value in item.items()
        if name.startswith(ATTRIBUTE_PREFIX)
    }
    return Record(
        id=item["id"],
        created_at=item["created_at"],
        attributes=dict(sorted(attributes.items())),
        fields={k: v for k, v in item.items() if not k.startswith(ATTRIBUTE_PREFIX)},
    )


class Expression:
    """One UpdateExpression with numbered placeholders."""

    def __init__(self) -> None:
        self.sets: list[str] = []
        self.removes: list[str] = []
        self.adds: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attribute: str) -> str:
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = dynamo.to_dynamo(value)
        return placeholder

    def set(self, attribute: str, value: Any, *, once: bool = False) -> None:
        name, placeholder = self.name(attribute), self.value(value)
        self.sets.append(
            f"{name} = if_not_exists({name}, {placeholder})" if once else f"{name} = {placeholder}"
        )

    def render(self) -> str:
        parts = []
        if self.sets:
            parts.append("SET " + ", ".join(self.sets))
        if self.removes:
            parts.append("REMOVE " + ", ".join(self.removes))
        if self.adds:
            parts.append("ADD " + ", ".join(self.adds))
        return " ".join(parts)


# Extra index maintenance for a kind of item (e.g. users by email): (expression, changes,
# the creation-ordered sort key this item gets if it is new).
IndexHook = Callable[[Expression, list[AttributeChange], str], None]


def upsert(
    key: dict[str, str],
    object_id: str,
    changes: list[AttributeChange],
    *,
    fixed: dict[str, Any],
    created_order: str | None = None,
    set_once: dict[str, Any] | None = None,
    index_hook: IndexHook | None = None,
) -> Record:
    """Create or update one item and return it as stored after the write.

    `fixed` fields are written on every upsert (ids, index partitions); `set_once` fields
    only when absent (generated ids). `created_order` names the index sort-key attribute
    (e.g. GSI1SK) that orders the item by creation: `<created_at>#<id>`, set once.
    """
    now = now_iso()
    order_value = f"{now}#{object_id}"

    def write(expression: Expression, condition: str | None) -> Record:
        for name, value in fixed.items():
            expression.set(name, value)
        expression.set("created_at", now, once=True)
        if created_order:
            expression.set(created_order, order_value, once=True)
        for name, value in (set_once or {}).items():
            expression.set(name, value, once=True)
        expression.adds.append(f"{expression.name('v')} {expression.value(1)}")
        return _update(key, expression, condition)

    def native(resolved: list[AttributeChange]) -> Expression:
        expression = _native_expression(resolved)
        if index_hook:
            index_hook(expression, resolved, order_value)
        return expression

    if not needs_current_value(changes):
        return write(native(changes), None)

    for _ in range(MAX_WRITE_ATTEMPTS):
        found = dynamo.client().get_item(
            TableName=dynamo.table_name(), Key=dynamo.to_item(key), ConsistentRead=True
        )
        item = dynamo.from_item(found["Item"]) if "Item" in found else None
        current = record_from_item(item).attributes if item else {}
        updated = apply_changes(current, changes)
        # Write only what the request touched, as plain SET/REMOVE.
        resolved = [
            AttributeChange(c.name, Operation.SET, updated[c.name], c.data_type)
            if c.name in updated
            else AttributeChange(c.name, Operation.UNSET, None, None)
            for c in changes
        ]
        expression = native(resolved)
        if item is None:
            condition = "attribute_not_exists(PK)"
        else:
            condition = f"{expression.name('v')} = {expression.value(item.get('v', 0))}"
        try:
            return write(expression, condition)
        except ClientError as error:
            if not dynamo.is_conditional_failure(error):
                raise
    raise ConflictError(object_id)


def _native_expression(changes: list[AttributeChange]) -> Expression:
    expression = Expression()
    for change in changes:
        if change.operation is Operation.UNSET:
            expression.removes.append(expression.name(ATTRIBUTE_PREFIX + change.name))
        elif change.operation is Operation.SET:
            expression.set(ATTRIBUTE_PREFIX + change.name, change.value)
        elif change.operation is Operation.SET_ONCE:
            expression.set(ATTRIBUTE_PREFIX + change.name, change.value, once=True)
        elif change.operation is Operation.ADD:
            name = expression.name(ATTRIBUTE_PREFIX + change.name)
            expression.adds.append(f"{name} {expression.value(change.value)}")
        else:  # pragma: no cover - list operations are resolved to SET before this
            raise AssertionError(change.operation)
    return expression


def _update(key: dict[str, str], expression: Expression, condition: str | None) -> Record:
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "Key": dynamo.to_item(key),
        "UpdateExpression": expression.render(),
        "ExpressionAttributeNames": expression.names,
        "ExpressionAttributeValues": expression.values,
        "ReturnValues": "ALL_NEW",
    }
    if condition:
        arguments["ConditionExpression"] = condition
    try:
        result = dynamo.client().update_item(**arguments)
    except ClientError as error:
        if _is_type_mismatch(error):
            raise InvalidInput(
                "Invalid `attributes`: `add`/`subtract` need a number attribute."
            ) from None
        raise
    return record_from_item(dynamo.from_item(result["Attributes"]))


def _is_type_mismatch(error: ClientError) -> bool:
    """DynamoDB's answer to `ADD` on a non-number attribute."""
    details = error.response.get("Error", {})
    message = str(details.get("Message", "")).lower()
    is_validation = details.get("Code") == "ValidationException"
    return is_validation and ("data type" in message or "type mismatch" in message)


def get(key: dict[str, str]) -> Record | None:
    found = dynamo.client().get_item(TableName=dynamo.table_name(), Key=dynamo.to_item(key))
    return record_from_item(dynamo.from_item(found["Item"])) if "Item" in found else None


def batch_get(keys: Iterable[dict[str, str]]) -> list[Record]:
    """Every existing item among `keys` (BatchGetItem, 100 keys a call, unprocessed retried)."""
    unique = list({(k["PK"], k["SK"]): k for k in keys}.values())
    records: list[Record] = []
    for start in range(0, len(unique), 100):
        request = {
            dynamo.table_name(): {"Keys": [dynamo.to_item(k) for k in unique[start : start + 100]]}
        }
        while request:
            result = dynamo.client().batch_get_item(RequestItems=request)
            records.extend(
                record_from_item(dynamo.from_item(i))
                for i in result.get("Responses", {}).get(dynamo.table_name(), [])
            )
            request = result.get("UnprocessedKeys") or {}
    return records
