"""The DynamoDB client, shared by every store, and (de)serialization of items."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from shared import aws
from shared.domain.errors import InvalidInput
from shared.domain.limits import storable_decimal
from shared.observability import logger
from shared.settings import get_settings

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]
_NAME = re.compile(r"#\w+")


# Refusals a checked write can still meet when another write to the same item lands between
# its read and its write (the item grew past 400 KB, a sum past 38 digits, a number became
# text): not missing checks, so they are logged as warnings.
RACES = (
    "Item size has exceeded",
    "Item size to update has exceeded",
    "precision up to 38 digits",
    "Number overflow",
    "incorrect data type",
)


class RefusedByDynamo(InvalidInput):
    """DynamoDB refused a request as invalid (a ValidationException).

    The limits are meant to catch every such request first, so this is a missing check: the
    client gets a 400 rather than a 500, and the log says it is a bug to fix.
    """


@lru_cache(maxsize=1)
def client() -> Any:
    """One client per container, shared by every store; DynamoDB's validation refusals
    come out as RefusedByDynamo."""
    return _GuardedClient(aws.client("dynamodb", get_settings().dynamodb_endpoint_url))


class _GuardedClient:
    """The boto3 client, with every call's ValidationException turned into RefusedByDynamo."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._raw, name)
        if name.startswith("_") or not callable(attribute):
            return attribute  # meta, exceptions...
        return _guarded(name, attribute)


def _guarded(operation: str, call: Callable[..., Any]) -> Callable[..., Any]:
    from botocore.exceptions import ClientError

    @functools.wraps(call)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except ClientError as error:
            details = error.response.get("Error", {})
            if details.get("Code") != "ValidationException":
                raise
            message = str(details.get("Message", ""))
            log = {"operation": operation, "dynamodb_message": message}
            if any(race in message for race in RACES):
                logger.warning("DynamoDB refused a checked write that raced another", extra=log)
            else:
                logger.error(
                    "Bug: DynamoDB refused a request that the limits should have refused first",
                    extra=log,
                )
            raise RefusedByDynamo(
                f"The request breaks a storage limit: {message.rstrip('.;')}."
            ) from None

    return guarded


def table_name() -> str:
    return get_settings().table_name


def reset() -> None:
    """Forget the cached client and settings (tests change the environment between cases)."""
    client.cache_clear()
    get_settings.cache_clear()


def to_dynamo(value: Any) -> Any:
    return _serializer.serialize(_to_decimals(value))


def to_item(values: Item) -> dict[str, Any]:
    return {key: to_dynamo(value) for key, value in values.items()}


def from_item(item: dict[str, Any]) -> Item:
    return {key: _from_decimals(_deserializer.deserialize(value)) for key, value in item.items()}


def _to_decimals(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float | int):
        return storable_decimal(value)
    if isinstance(value, dict):
        return {k: _to_decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_decimals(v) for v in value]
    return value


def _from_decimals(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_decimals(v) for v in value]
    if isinstance(value, set):
        return sorted(_from_decimals(v) for v in value)
    return value


def is_conditional_failure(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code")
    return code in {"ConditionalCheckFailedException", "TransactionCanceledException"}


class TransactionCancelled(Exception):
    """DynamoDB cancelled a transaction: nothing of it was written. `reasons` holds one code
    per item, in order ("None", "ConditionalCheckFailed", "TransactionConflict"...)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons) or "cancelled")
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        """Whether item `index`'s condition failed."""
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"

    @property
    def conflict(self) -> bool:
        """Another transaction or write held an item: the same transaction may succeed again."""
        return not any(r == "ConditionalCheckFailed" for r in self.reasons)


def transact_write(items: list[dict[str, Any]]) -> None:
    """TransactWriteItems (all or nothing); a cancellation raises TransactionCancelled."""
    from botocore.exceptions import ClientError

    try:
        client().transact_write_items(TransactItems=items)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = error.response.get("CancellationReasons") or []
        raise TransactionCancelled([str(r.get("Code") or "None") for r in reasons]) from None


def put_request(item: Item, condition: str | None = None, **values: Any) -> dict[str, Any]:
    """A transaction's Put of `item`, optionally conditional (`:name` values as keywords)."""
    request: dict[str, Any] = {"TableName": table_name(), "Item": to_item(item)}
    _condition(request, condition, values)
    return {"Put": request}


def delete_request(key: Item, condition: str | None = None, **values: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": table_name(), "Key": to_item(key)}
    _condition(request, condition, values)
    return {"Delete": request}


def check_request(
    key: Item, condition: str, *, names: dict[str, str] | None = None, **values: Any
) -> dict[str, Any]:
    """A transaction's ConditionCheck; `names` maps placeholders of attribute names that
    `#name` cannot spell (e.g. `#unsubscribed` -> `a#content_unsubscribed_at`)."""
    request: dict[str, Any] = {"TableName": table_name(), "Key": to_item(key)}
    _condition(request, condition, values)
    if names:
        request.setdefault("ExpressionAttributeNames", {}).update(names)
    return {"ConditionCheck": request}


def update_request(
    key: Item, changes: Item, condition: str | None = None, **values: Any
) -> dict[str, Any]:
    """A transaction's Update setting `changes` (None values are removed)."""
    sets = [f"#{k} = :{k}" for k, v in changes.items() if v is not None]
    removals = [f"#{k}" for k, v in changes.items() if v is None]
    expression = " ".join(
        part
        for part in (
            "SET " + ", ".join(sets) if sets else "",
            "REMOVE " + ", ".join(removals) if removals else "",
        )
        if part
    )
    request: dict[str, Any] = {
        "TableName": table_name(),
        "Key": to_item(key),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": {f"#{k}": k for k in changes},
    }
    set_values = {f":{k}": v for k, v in changes.items() if v is not None}
    if set_values:
        request["ExpressionAttributeValues"] = to_item(set_values)
    _condition(request, condition, values)
    return {"Update": request}


def _condition(request: dict[str, Any], condition: str | None, values: dict[str, Any]) -> None:
    """Condition placeholders are `:name` for values and `#name` for attribute names."""
    if condition is None:
        return
    request["ConditionExpression"] = condition
    if values:
        request.setdefault("ExpressionAttributeValues", {}).update(
            to_item({f":{k}": v for k, v in values.items()})
        )
    names = {part for part in _NAME.findall(condition)}
    if names:
        request.setdefault("ExpressionAttributeNames", {}).update({n: n[1:] for n in names})


def update_existing(
    key: dict[str, str], changes: Item, removals: tuple[str, ...] = ()
) -> Item | None:
    """Set `changes` (and remove `removals`) on an item that exists; returns the item as it
    now is, or None when there is no such item (nothing is created)."""
    from botocore.exceptions import ClientError

    if not changes and not removals:
        raise ValueError("update_existing needs something to set or remove")
    clauses = []
    if changes:
        clauses.append("SET " + ", ".join(f"#{k} = :{k}" for k in changes))
    if removals:
        clauses.append("REMOVE " + ", ".join(f"#{k}" for k in removals))
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "Key": to_item(key),
        "UpdateExpression": " ".join(clauses),
        "ExpressionAttributeNames": {f"#{k}": k for k in (*changes, *removals)},
        "ConditionExpression": "attribute_exists(PK)",
        "ReturnValues": "ALL_NEW",
    }
    if changes:
        arguments["ExpressionAttributeValues"] = to_item({f":{k}": v for k, v in changes.items()})
    try:
        result = client().update_item(**arguments)
    except ClientError as error:
        if is_conditional_failure(error):
            return None
        raise
    return from_item(result["Attributes"])
