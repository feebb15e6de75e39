"""Users on the single table.

Item: PK `E#<env>#U#<id>`, SK `U`; each attribute is a top-level item attribute `a#<name>`,
so one UpdateItem creates or updates a user and every operation DynamoDB can do natively
(`SET`, `if_not_exists`, `ADD`, `REMOVE`) is atomic under concurrency. List operations
(append/prepend/remove) must dedupe against the stored list, so they read first and write
conditionally on the version counter `v`, retrying on a conflict.
"""

from __future__ import annotations

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
from shared.domain.errors import InvalidInput
from shared.store import dynamo, keys
from shared.store.pages import Page, query_page

ATTRIBUTE_PREFIX = "a#"
EMAIL_ATTRIBUTE = "email"
MAX_WRITE_ATTEMPTS = 25


@dataclass(frozen=True)
class User:
    id: str
    created_at: str
    attributes: dict[str, Any] = field(default_factory=dict)


class ConflictError(Exception):
    """Too many concurrent writers changed the same user; the client may retry."""


def item_to_user(item: dict[str, Any]) -> User:
    attributes = {
        name[len(ATTRIBUTE_PREFIX) :]: value
        for name, value in item.items()
        if name.startswith(ATTRIBUTE_PREFIX)
    }
    return User(
        id=item["id"], created_at=item["created_at"], attributes=dict(sorted(attributes.items()))
    )


def get(environment_id: str, user_id: str) -> User | None:
    found = dynamo.client().get_item(
        TableName=dynamo.table_name(), Key=dynamo.to_item(keys.user(environment_id, user_id))
    )
    return item_to_user(dynamo.from_item(found["Item"])) if "Item" in found else None


def upsert(environment_id: str, user_id: str, changes: list[AttributeChange]) -> User:
    if needs_current_value(changes):
        return _upsert_read_modify_write(environment_id, user_id, changes)
    expression = _native_expression(environment_id, changes)
    return _update(environment_id, user_id, expression, condition=None)


def delete(environment_id: str, user_id: str) -> None:
    """Idempotent: deleting a missing user succeeds."""
    dynamo.client().delete_item(
        TableName=dynamo.table_name(), Key=dynamo.to_item(keys.user(environment_id, user_id))
    )


def list_page(
    environment_id: str,
    *,
    limit: int,
    descending: bool,
    starting_after: str | None,
    email: str | None = None,
) -> Page[User]:
    """Users in creation order (or one email's users), `limit` at a time."""
    if email is None:
        index, partition = "GSI1", keys.users_listing(environment_id)
    else:
        index, partition = "GSI2", keys.users_by_email(environment_id, email)
    start_key = None
    if starting_after is not None:
        anchor = get(environment_id, starting_after)
        if anchor is None:
            raise InvalidInput(f"Invalid `starting_after`: no user with id {starting_after!r}.")
        start_key = {
            **keys.user(environment_id, anchor.id),
            f"{index}PK": partition,
            f"{index}SK": keys.created_order(anchor.created_at, anchor.id),
        }
    page = query_page(
        index=index,
        partition=partition,
        limit=limit,
        descending=descending,
        start_key=start_key,
    )
    return Page(items=[item_to_user(i) for i in page.items], has_more=page.has_more)


# --- writes -----------------------------------------------------------------------------------


class _Expression:
    """Builds one UpdateExpression with numbered placeholders."""

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

    def render(self) -> str:
        parts = []
        if self.sets:
            parts.append("SET " + ", ".join(self.sets))
        if self.removes:
            parts.append("REMOVE " + ", ".join(self.removes))
        if self.adds:
            parts.append("ADD " + ", ".join(self.adds))
        return " ".join(parts)


def _native_expression(environment_id: str, changes: list[AttributeChange]) -> _Expression:
    expression = _Expression()
    for change in changes:
        name = expression.name(ATTRIBUTE_PREFIX + change.name)
        if change.operation is Operation.UNSET:
            expression.removes.append(name)
        elif change.operation is Operation.SET:
            expression.sets.append(f"{name} = {expression.value(change.value)}")
        elif change.operation is Operation.SET_ONCE:
            value = expression.value(change.value)
            expression.sets.append(f"{name} = if_not_exists({name}, {value})")
        elif change.operation is Operation.ADD:
            expression.adds.append(f"{name} {expression.value(change.value)}")
        else:  # pragma: no cover - list operations take the read-modify-write path
            raise AssertionError(change.operation)
    _index_email(expression, environment_id, changes)
    return expression


def _index_email(
    expression: _Expression, environment_id: str, changes: list[AttributeChange]
) -> None:
    """Keep GSI2 (users by email) in step with the `email` attribute."""
    change = next((c for c in changes if c.name == EMAIL_ATTRIBUTE), None)
    if change is None:
        return
    if change.operation in (Operation.SET, Operation.SET_ONCE) and isinstance(change.value, str):
        # GSI2SK copies the creation order; if_not_exists reads GSI1SK (or the new value).
        pk = expression.value(keys.users_by_email(environment_id, change.value))
        once = change.operation is Operation.SET_ONCE
        expression.sets.append(
            f"GSI2PK = if_not_exists(GSI2PK, {pk})" if once else f"GSI2PK = {pk}"
        )
        expression.sets.append("GSI2SK = if_not_exists(GSI1SK, :created_order)")
    elif change.operation is not Operation.SET_ONCE:
        expression.removes.extend(["GSI2PK", "GSI2SK"])


def _update(
    environment_id: str, user_id: str, expression: _Expression, condition: str | None
) -> User:
    now = now_iso()
    expression.sets[:0] = [
        "id = :id",
        "created_at = if_not_exists(created_at, :now)",
        "GSI1PK = :listing",
        "GSI1SK = if_not_exists(GSI1SK, :created_order)",
    ]
    expression.adds.append("v :one")
    values = {
        ":id": user_id,
        ":now": now,
        ":listing": keys.users_listing(environment_id),
        ":created_order": keys.created_order(now, user_id),
        ":one": 1,
    }
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "Key": dynamo.to_item(keys.user(environment_id, user_id)),
        "UpdateExpression": expression.render(),
        "ExpressionAttributeValues": {**expression.values, **dynamo.to_item(values)},
        "ReturnValues": "ALL_NEW",
    }
    if expression.names:
        arguments["ExpressionAttributeNames"] = expression.names
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
    return item_to_user(dynamo.from_item(result["Attributes"]))


def _is_type_mismatch(error: Exception) -> bool:
    """DynamoDB's answer to `ADD` on a non-number attribute."""
    details = getattr(error, "response", {}).get("Error", {})
    message = str(details.get("Message", "")).lower()
    is_validation = details.get("Code") == "ValidationException"
    return is_validation and ("data type" in message or "type mismatch" in message)


def _upsert_read_modify_write(
    environment_id: str, user_id: str, changes: list[AttributeChange]
) -> User:
    for _ in range(MAX_WRITE_ATTEMPTS):
        found = dynamo.client().get_item(
            TableName=dynamo.table_name(),
            Key=dynamo.to_item(keys.user(environment_id, user_id)),
            ConsistentRead=True,
        )
        item = dynamo.from_item(found["Item"]) if "Item" in found else None
        current = item_to_user(item).attributes if item else {}
        updated = apply_changes(current, changes)
        # Write only what the request touched, as plain SET/REMOVE.
        resolved = [
            AttributeChange(c.name, Operation.SET, updated[c.name], c.data_type)
            if c.name in updated
            else AttributeChange(c.name, Operation.UNSET, None, None)
            for c in changes
        ]
        expression = _native_expression(environment_id, resolved)
        if item is None:
            condition = "attribute_not_exists(PK)"
        else:
            condition = f"v = {expression.value(item.get('v', 0))}"
        try:
            return _update(environment_id, user_id, expression, condition)
        except ClientError as error:
            if not dynamo.is_conditional_failure(error):
                raise
    raise ConflictError(user_id)
