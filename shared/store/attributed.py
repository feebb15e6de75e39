"""Writes and reads of items that carry attributes: users, groups and memberships.

Each attribute is a top-level item attribute `a#<name>`, so one UpdateItem creates or
updates an item and every operation DynamoDB can do natively (`SET`, `if_not_exists`, `ADD`,
`REMOVE`) stays atomic under concurrency. List operations (append/prepend/remove) must dedupe
against the stored list, so they write conditionally on the version counter `v`, retrying on
a conflict.

A write is planned (`Upsert`), checked against the item as it is (`read_current`, `check`:
the limits apply to the item after the write) and only then run (`write`), so a request that
writes several items can check them all before writing any.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from shared.clock import now_iso
from shared.domain import limits
from shared.domain.attributes import (
    AttributeChange,
    Operation,
    apply_changes,
    needs_current_value,
)
from shared.domain.errors import Conflict
from shared.store import dynamo, keys
from shared.store.parallel import run_all

ATTRIBUTE_PREFIX = "a#"
MAX_WRITE_ATTEMPTS = 25
BATCH_GET_LIMIT = 100

Key = tuple[str, str]


@dataclass(frozen=True)
class Record:
    """A stored object with attributes, plus its non-attribute fields (ids, created_at...)."""

    id: str
    created_at: str
    attributes: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)


class ConflictError(Conflict):
    """Too many concurrent writers changed the same item; the client may retry."""


class MissingItem(Exception):
    """An update (`must_exist`) found no item: nothing was written."""


def record_from_item(item: dict[str, Any]) -> Record:
    return Record(
        id=item["id"],
        created_at=item["created_at"],
        attributes=dict(sorted(attributes_of(item).items())),
        fields={k: v for k, v in item.items() if not k.startswith(ATTRIBUTE_PREFIX)},
    )


def attributes_of(item: dict[str, Any] | None) -> dict[str, Any]:
    return {
        name[len(ATTRIBUTE_PREFIX) :]: value
        for name, value in (item or {}).items()
        if name.startswith(ATTRIBUTE_PREFIX)
    }


class Expression:
    """One UpdateExpression (or ConditionExpression) with numbered placeholders."""

    def __init__(self) -> None:
        self.sets: list[str] = []
        self.removes: list[str] = []
        self.adds: list[str] = []
        self.conditions: list[str] = []
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

    def condition(self) -> str | None:
        return " AND ".join(f"({c})" for c in self.conditions) or None


# Extra index maintenance for a kind of item (e.g. users by email): (expression, changes,
# the creation-ordered sort key this item gets if it is new).
IndexHook = Callable[[Expression, list[AttributeChange], str], None]


@dataclass(frozen=True)
class Upsert:
    """Create or update one item: what `check` verifies and `write` runs.

    `fixed` fields are written on every upsert (ids, index partitions); `set_once` fields
    only when absent (generated ids). `created_order` names the index sort-key attribute
    (e.g. GSI1SK) that orders the item by creation: `<created_at>#<id>`, set once. `what`
    and `path` name the object and the request field in error messages.
    """

    key: dict[str, str]
    object_id: str
    changes: list[AttributeChange]
    fixed: dict[str, Any]
    what: str
    path: str = "attributes"
    created_order: str | None = None
    set_once: dict[str, Any] = field(default_factory=dict)
    index_hook: IndexHook | None = None
    # Only an update: the item must exist when written (else MissingItem, nothing created).
    must_exist: bool = False

    @property
    def key_tuple(self) -> Key:
        return (self.key["PK"], self.key["SK"])


def read_current(upserts: Sequence[Upsert]) -> dict[Key, dict[str, Any]]:
    """The items the upserts would change, as they are now (consistent reads, batched)."""
    return {
        (item["PK"], item["SK"]): item
        for item in get_items([u.key for u in upserts], consistent=True)
    }


def check(upsert: Upsert, current: dict[str, Any] | None) -> None:
    """Refuse (400) a write whose item would break a limit once written."""
    after = apply_changes(attributes_of(current), upsert.changes, upsert.path)
    limits.check_attribute_count(len(after), upsert.path, upsert.what)
    limits.check_object_size(projected_item(upsert, current, after), upsert.path, upsert.what)


def projected_item(
    upsert: Upsert, current: dict[str, Any] | None, attributes: dict[str, Any]
) -> dict[str, Any]:
    """The item as it will be stored after the write (for its size)."""
    item = {k: v for k, v in (current or {}).items() if not k.startswith(ATTRIBUTE_PREFIX)}
    now = now_iso()
    item.update(upsert.key)
    item.update(upsert.fixed)
    item.setdefault("created_at", now)
    if upsert.created_order:
        item.setdefault(upsert.created_order, keys.created_order(now, upsert.object_id))
    for name, value in upsert.set_once.items():
        item.setdefault(name, value)
    item["v"] = item.get("v", 0)
    item.update({ATTRIBUTE_PREFIX + name: value for name, value in attributes.items()})
    return item


def write(upsert: Upsert, current: dict[str, Any] | None) -> Record:
    """Run a checked upsert; `current` is the item as `read_current` found it (or None).

    Returns the item as stored after the write.
    """
    now = now_iso()
    order_value = keys.created_order(now, upsert.object_id)

    def run(expression: Expression) -> Record:
        for name, value in upsert.fixed.items():
            expression.set(name, value)
        expression.set("created_at", now, once=True)
        if upsert.created_order:
            expression.set(upsert.created_order, order_value, once=True)
        for name, value in upsert.set_once.items():
            expression.set(name, value, once=True)
        expression.adds.append(f"{expression.name('v')} {expression.value(1)}")
        if upsert.must_exist:
            expression.conditions.append("attribute_exists(PK)")
        try:
            return _update(upsert.key, expression)
        except _ConditionFailed:
            if upsert.must_exist and not expression.conditions[:-1]:
                raise MissingItem(upsert.object_id) from None
            raise

    def native(resolved: list[AttributeChange]) -> Expression:
        expression = _native_expression(resolved)
        if upsert.index_hook:
            upsert.index_hook(expression, resolved, order_value)
        return expression

    if not needs_current_value(upsert.changes):
        # Unconditional, so concurrent `add`s never conflict: the caller checked the item as
        # read, and DynamoDB refuses what a concurrent write made invalid since (a 400).
        return run(native(upsert.changes))

    item = current
    for attempt in range(MAX_WRITE_ATTEMPTS):
        if attempt:
            item = get_item(upsert.key, consistent=True)
            check(upsert, item)
        if item is None and upsert.must_exist:
            raise MissingItem(upsert.object_id)
        updated = apply_changes(attributes_of(item), upsert.changes, upsert.path)
        # Write only what the request touched, as plain SET/REMOVE.
        resolved = [
            AttributeChange(c.name, Operation.SET, updated[c.name], c.data_type)
            if c.name in updated
            else AttributeChange(c.name, Operation.UNSET, None, None)
            for c in upsert.changes
        ]
        expression = native(resolved)
        if item is None:
            expression.conditions.append("attribute_not_exists(PK)")
        else:
            version = expression.value(item.get("v", 0))
            expression.conditions.append(f"{expression.name('v')} = {version}")
        try:
            return run(expression)
        except _ConditionFailed:
            continue
    raise ConflictError(upsert.object_id)


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


class _ConditionFailed(Exception):
    pass


def _update(key: dict[str, str], expression: Expression) -> Record:
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "Key": dynamo.to_item(key),
        "UpdateExpression": expression.render(),
        "ExpressionAttributeNames": expression.names,
        "ExpressionAttributeValues": expression.values,
        "ReturnValues": "ALL_NEW",
    }
    condition = expression.condition()
    if condition:
        arguments["ConditionExpression"] = condition
    try:
        result = dynamo.client().update_item(**arguments)
    except Exception as error:
        if dynamo.is_conditional_failure(error):
            raise _ConditionFailed from None
        raise
    return record_from_item(dynamo.from_item(result["Attributes"]))


def get(key: dict[str, str]) -> Record | None:
    item = get_item(key)
    return record_from_item(item) if item else None


def get_item(key: dict[str, str], *, consistent: bool = False) -> dict[str, Any] | None:
    found = dynamo.client().get_item(
        TableName=dynamo.table_name(), Key=dynamo.to_item(key), ConsistentRead=consistent
    )
    return dynamo.from_item(found["Item"]) if "Item" in found else None


def batch_get(item_keys: Iterable[dict[str, str]]) -> list[Record]:
    """Every existing item among `item_keys`, as records."""
    return [record_from_item(item) for item in get_items(item_keys)]


def get_items(
    item_keys: Iterable[dict[str, str]], *, consistent: bool = False
) -> list[dict[str, Any]]:
    """Every existing item among `item_keys`: BatchGetItem, 100 keys a call, the calls side
    by side, unprocessed keys retried."""
    unique = list({(k["PK"], k["SK"]): k for k in item_keys}.values())
    chunks = [unique[i : i + BATCH_GET_LIMIT] for i in range(0, len(unique), BATCH_GET_LIMIT)]
    found = run_all([partial(_get_chunk, chunk, consistent) for chunk in chunks])
    return [item for items in found for item in items]


def _get_chunk(chunk: list[dict[str, str]], consistent: bool) -> list[dict[str, Any]]:
    table = dynamo.table_name()
    request: dict[str, Any] = {
        table: {"Keys": [dynamo.to_item(k) for k in chunk], "ConsistentRead": consistent}
    }
    items: list[dict[str, Any]] = []
    attempt = 0
    while request:
        if attempt:
            time.sleep(min(2.0, 0.05 * 2**attempt))  # throttled: back off before retrying
        result = dynamo.client().batch_get_item(RequestItems=request)
        items.extend(dynamo.from_item(i) for i in result.get("Responses", {}).get(table, []))
        request = result.get("UnprocessedKeys") or {}
        attempt += 1
    return items


def upsert(planned: Upsert) -> Record:
    """Check and run one upsert on its own (read, check, write)."""
    current = get_item(planned.key, consistent=True)
    if current is None and planned.must_exist:
        raise MissingItem(planned.object_id)
    check(planned, current)
    return write(planned, current)
