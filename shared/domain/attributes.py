"""Attribute values and operations (the reference's "Attributes" section), as pure rules.

A request's `attributes` object becomes a list of `AttributeChange`s; the store turns them into
one DynamoDB update, and `apply_changes` computes the same result in memory (for the
read-modify-write path of list operations, and for tests).
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.clock import format_timestamp
from shared.domain import limits
from shared.domain.errors import InvalidInput
from shared.domain.limits import MAX_ATTRIBUTES_PER_REQUEST, MAX_NAME_LENGTH

NAME_PATTERN = re.compile(r"[A-Za-z0-9_\- ]+")
# A user holding this attribute (any value; the unsubscribe endpoint sets the time) has opted
# out of content: it starts no content sessions until the attribute is removed.
UNSUBSCRIBED_ATTRIBUTE = "content_unsubscribed_at"
OPERATION_KEYS = ("set", "set_once", "add", "subtract", "append", "prepend", "remove")


class DataType(enum.StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    LIST = "list"


class Operation(enum.StrEnum):
    SET = "set"
    SET_ONCE = "set_once"
    ADD = "add"  # `subtract` is parsed as `add` of the negated number
    APPEND = "append"
    PREPEND = "prepend"
    REMOVE = "remove"  # remove values from a list
    UNSET = "unset"  # a null value removes the attribute


LIST_OPERATIONS = frozenset({Operation.APPEND, Operation.PREPEND, Operation.REMOVE})

Value = str | int | float | bool | list[str]


@dataclass(frozen=True)
class AttributeChange:
    name: str
    operation: Operation
    value: Value | None
    data_type: DataType | None  # the type the value is stored as; None for UNSET


_DATETIME_PATTERN = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def validate_name(name: str, what: str = "attribute") -> None:
    if not name or len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.fullmatch(name):
        raise InvalidInput(
            f"Invalid {what} name {name[:80]!r}: names can only consist of a-z, A-Z, 0-9, "
            f"underscores, dashes and spaces (1 to {MAX_NAME_LENGTH} characters)."
        )


def parse_changes(attributes: Any, path: str = "attributes") -> list[AttributeChange]:
    """Turn a request's `attributes` object into changes, validating every rule."""
    if attributes is None:
        return []
    if not isinstance(attributes, dict):
        raise InvalidInput(f"Invalid `{path}`: must be an object.")
    if len(attributes) > MAX_ATTRIBUTES_PER_REQUEST:
        raise InvalidInput(
            f"Invalid `{path}`: at most {MAX_ATTRIBUTES_PER_REQUEST} attributes per request."
        )
    changes = []
    for name, raw in attributes.items():
        validate_name(name)
        changes.append(_parse_change(name, raw, f"{path}.{name}"))
    return changes


def _parse_change(name: str, raw: Any, path: str) -> AttributeChange:
    if raw is None:
        return AttributeChange(name, Operation.UNSET, None, None)
    if not isinstance(raw, dict):
        value = _literal(raw, path)
        return AttributeChange(name, Operation.SET, *_typed(value, None, path))

    unknown = set(raw) - {*OPERATION_KEYS, "data_type"}
    if unknown:
        raise InvalidInput(f"Invalid `{path}`: unknown key {sorted(unknown)[0]!r}.")
    given = [key for key in OPERATION_KEYS if key in raw]
    if len(given) != 1:
        raise InvalidInput(
            f"Invalid `{path}`: exactly one of {', '.join(OPERATION_KEYS)} must be set."
        )
    key = given[0]
    operand = raw[key]
    requested = _parse_data_type(raw.get("data_type"), path)

    if key in ("set", "set_once"):
        if operand is None:
            return AttributeChange(name, Operation.UNSET, None, None)
        value = _literal(operand, f"{path}.{key}")
        operation = Operation.SET if key == "set" else Operation.SET_ONCE
        return AttributeChange(name, operation, *_typed(value, requested, f"{path}.{key}"))

    if key in ("add", "subtract"):
        if requested not in (None, DataType.NUMBER):
            raise InvalidInput(f"Invalid `{path}`: `{key}` only works on number attributes.")
        number = _number(operand, f"{path}.{key}")
        return AttributeChange(
            name, Operation.ADD, number if key == "add" else -number, DataType.NUMBER
        )

    if requested not in (None, DataType.LIST):
        raise InvalidInput(f"Invalid `{path}`: `{key}` only works on list attributes.")
    values = _string_list(operand, f"{path}.{key}")
    return AttributeChange(name, Operation(key), values, DataType.LIST)


def _parse_data_type(raw: Any, path: str) -> DataType | None:
    if raw is None:
        return None
    try:
        return DataType(raw)
    except ValueError:
        accepted = ", ".join(t.value for t in DataType)
        raise InvalidInput(f"Invalid `{path}.data_type` {raw!r}: one of {accepted}.") from None


def _literal(raw: Any, path: str) -> Value:
    """A value as given, literally or in `set`/`set_once`: a string, number, boolean, or a
    list of strings (which sets a list attribute)."""
    if isinstance(raw, str):
        limits.check_string(raw, path)
        return raw
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        return _number(raw, path)
    if isinstance(raw, list):
        return _string_list(raw, path)
    raise InvalidInput(f"Invalid `{path}`: must be a string, number, boolean, list or null.")


def _number(raw: Any, path: str) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InvalidInput(f"Invalid `{path}`: must be a number.")
    limits.check_number(raw, path)
    return raw


def _string_list(raw: Any, path: str) -> list[str]:
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidInput(f"Invalid `{path}`: must be a string or a list of strings.")
    limits.check_list_length(values, path)
    for value in values:
        limits.check_string(value, path)
    return list(dict.fromkeys(values))


def infer_data_type(value: Value) -> DataType:
    if isinstance(value, bool):
        return DataType.BOOLEAN
    if isinstance(value, int | float):
        return DataType.NUMBER
    if isinstance(value, list):
        return DataType.LIST
    if _DATETIME_PATTERN.match(value) and parse_datetime(value) is not None:
        return DataType.DATETIME
    return DataType.STRING


def parse_datetime(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _typed(value: Value, requested: DataType | None, path: str) -> tuple[Value, DataType]:
    """Coerce a value into the requested type (or the inferred one) and say which it is."""
    data_type = requested or infer_data_type(value)
    try:
        coerced = _coerce(value, data_type)
    except (ValueError, TypeError, OverflowError, OSError):
        shown = repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:77]}..."
        raise InvalidInput(
            f"Invalid `{path}`: {shown} cannot be stored as {data_type.value}."
        ) from None
    if isinstance(coerced, int | float) and not isinstance(coerced, bool):
        limits.check_number(coerced, path)
    return coerced, data_type


def _coerce(value: Value, data_type: DataType) -> Value:
    if data_type is DataType.STRING:
        if isinstance(value, list):
            raise TypeError
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else _number_text(value)
    if data_type is DataType.NUMBER:
        if isinstance(value, bool | list):
            raise TypeError
        number = float(value) if isinstance(value, str) else value
        if isinstance(number, float) and number.is_integer() and abs(number) < 2**53:
            return int(number)
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError
        return number
    if data_type is DataType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        raise ValueError
    if data_type is DataType.DATETIME:
        if isinstance(value, bool | list):
            raise TypeError
        if isinstance(value, int | float):
            # Unix time; values this large are milliseconds.
            seconds = value / 1000 if abs(value) >= 1e11 else value
            return format_timestamp(datetime.fromtimestamp(seconds, UTC))
        moment = parse_datetime(value)
        if moment is None:
            raise ValueError
        return format_timestamp(moment)
    # LIST
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [value]
    raise TypeError


def _number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def apply_changes(
    current: dict[str, Any], changes: list[AttributeChange], path: str = "attributes"
) -> dict[str, Any]:
    """The attributes after applying `changes` to `current` (pure; `current` is not modified).

    Results must fit the limits too: a sum stays a storable number, a list stays short.
    """
    result = dict(current)
    for change in changes:
        name, value = change.name, change.value
        existing = result.get(name)
        field = f"{path}.{name}"
        if change.operation is Operation.UNSET:
            result.pop(name, None)
        elif change.operation is Operation.SET:
            result[name] = value
        elif change.operation is Operation.SET_ONCE:
            if name not in result:
                result[name] = value
        elif change.operation is Operation.ADD:
            base = existing if existing is not None else 0
            if isinstance(base, bool) or not isinstance(base, int | float | Decimal):
                raise InvalidInput(
                    f"Invalid `{field}`: `add`/`subtract` need a number attribute, "
                    f"but it holds {type(base).__name__}."
                )
            assert isinstance(value, int | float)
            total = limits.exact_sum(base, value)
            if total is None:
                raise InvalidInput(
                    f"Invalid `{field}`: the result of `add`/`subtract` is not a storable "
                    "number (magnitude from 1e-130 to below 1e126, at most 38 digits)."
                )
            result[name] = total
        else:
            updated = _apply_list(field, existing, change)
            if change.operation is not Operation.REMOVE:  # removing never makes it too long
                limits.check_list_length(updated, field)
            result[name] = updated
    return result


def _apply_list(field: str, existing: Any, change: AttributeChange) -> list[str]:
    if existing is None:
        base: list[str] = []
    elif isinstance(existing, list):
        base = list(existing)
    elif isinstance(existing, str):
        base = [existing]
    else:
        raise InvalidInput(f"Invalid `{field}`: `{change.operation.value}` needs a list attribute.")
    values = change.value if isinstance(change.value, list) else []
    if change.operation is Operation.REMOVE:
        removed = set(values)
        return [v for v in base if v not in removed]
    new = [v for v in values if v not in base]
    return base + new if change.operation is Operation.APPEND else new + base


def needs_current_value(changes: list[AttributeChange]) -> bool:
    """List operations dedupe against the stored list, so they need a read first."""
    return any(change.operation in LIST_OPERATIONS for change in changes)
