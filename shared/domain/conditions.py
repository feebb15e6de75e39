"""Condition filtering (the reference's "Condition filtering" section) as pure rules.

`parse_condition` validates a request's condition once, naming the offending clause by its path
(`condition.conditions[1].value`); `evaluate` then decides a record with a lookup function, so
the same evaluator serves users, groups, memberships and segments without touching storage.

Typed comparisons follow the stored value: numbers compare as numbers, datetimes as instants
(any ISO 8601 offset), booleans only match `true`/`false`, and a list attribute matches `eq`
when it holds the value. A value of the wrong type never matches; it does not raise, because
attributes of one name may hold different types on different records.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shared.domain.attributes import parse_datetime, validate_name
from shared.domain.errors import InvalidInput

MAX_DEPTH = 8
MAX_NODES = 200
MAX_TEXT_LENGTH = 20_000

# operator -> the operands it takes
_NO_OPERAND = frozenset({"empty", "not_empty", "true", "false"})
_SCALAR = frozenset({"eq", "ne"})
_STRING = frozenset({"contains", "not_contains", "starts_with", "ends_with"})
_ORDERED = frozenset({"gt", "gte", "lt", "lte"})
_LIST = frozenset({"includes_all", "includes_any", "excludes_all", "excludes_any"})
OPERATORS = _NO_OPERAND | _SCALAR | _STRING | _ORDERED | _LIST | {"between"}

Lookup = Callable[[str, str], Any]
"""(scope, attribute name) -> the record's value, or None when it is not set."""


@dataclass(frozen=True)
class AttributeCondition:
    scope: str
    name: str
    operator: str
    value: Any = None
    value2: Any = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clause:
    operator: Literal["and", "or"]
    conditions: tuple[Condition, ...]


Condition = AttributeCondition | Clause


# --- parsing -----------------------------------------------------------------------------------


def parse_condition_text(text: str, path: str = "condition") -> Condition:
    """Parse the `?condition=` query parameter (a JSON-formatted string)."""
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"Invalid `{path}`: at most {MAX_TEXT_LENGTH:,} characters.")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidInput(f"Invalid `{path}`: must be a JSON-formatted condition.") from None
    return parse_condition(raw, path)


def parse_condition(raw: Any, path: str = "condition") -> Condition:
    counter = [0]
    return _parse(raw, path, depth=1, counter=counter)


def _parse(raw: Any, path: str, depth: int, counter: list[int]) -> Condition:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise InvalidInput(f"Invalid `{path}`: a condition can hold at most {MAX_NODES} clauses.")
    if depth > MAX_DEPTH:
        raise InvalidInput(f"Invalid `{path}`: conditions nest at most {MAX_DEPTH} levels.")
    if not isinstance(raw, dict):
        raise InvalidInput(f"Invalid `{path}`: must be an object.")
    kind = raw.get("type")
    if kind == "clause":
        return _parse_clause(raw, path, depth, counter)
    if kind == "attribute":
        return _parse_attribute(raw, path)
    raise InvalidInput(f"Invalid `{path}.type`: must be `attribute` or `clause`.")


def _reject_unknown(raw: dict[str, Any], allowed: set[str], path: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InvalidInput(f"Invalid `{path}`: unknown key {unknown[0]!r}.")


def _parse_clause(raw: dict[str, Any], path: str, depth: int, counter: list[int]) -> Clause:
    _reject_unknown(raw, {"type", "operator", "conditions"}, path)
    operator = raw.get("operator")
    if operator not in ("and", "or"):
        raise InvalidInput(f"Invalid `{path}.operator`: a clause's operator is `and` or `or`.")
    children = raw.get("conditions")
    if not isinstance(children, list):
        raise InvalidInput(f"Invalid `{path}.conditions`: must be a list of conditions.")
    parsed = tuple(
        _parse(child, f"{path}.conditions[{i}]", depth + 1, counter)
        for i, child in enumerate(children)
    )
    return Clause(operator, parsed)


def _parse_attribute(raw: dict[str, Any], path: str) -> AttributeCondition:
    _reject_unknown(raw, {"type", "attribute_name", "operator", "value", "value2", "values"}, path)
    full_name = raw.get("attribute_name")
    if not isinstance(full_name, str):
        raise InvalidInput(f"Invalid `{path}.attribute_name`: must be a string.")
    scope, name = _split_scope(full_name)
    try:
        validate_name(name)
    except InvalidInput as error:
        raise InvalidInput(f"Invalid `{path}.attribute_name`: {error}") from None

    operator = raw.get("operator")
    if not isinstance(operator, str) or operator not in OPERATORS:
        raise InvalidInput(
            f"Invalid `{path}.operator`: must be one of {', '.join(sorted(OPERATORS))}."
        )
    if operator in _NO_OPERAND:
        return AttributeCondition(scope, name, operator)
    if operator in _LIST:
        return AttributeCondition(scope, name, operator, values=_string_values(raw, path))
    value = _operand(raw, "value", operator, path)
    value2 = _operand(raw, "value2", operator, path) if operator == "between" else None
    return AttributeCondition(scope, name, operator, value=value, value2=value2)


def _split_scope(full_name: str) -> tuple[str, str]:
    prefix, slash, rest = full_name.partition("/")
    if slash and prefix in ("group", "group_membership"):
        return prefix, rest
    return "user", full_name


def _operand(raw: dict[str, Any], key: str, operator: str, path: str) -> Any:
    if key not in raw or raw[key] is None:
        raise InvalidInput(f"Invalid `{path}.{key}`: `{operator}` needs a `{key}`.")
    value = raw[key]
    if operator in _STRING:
        if not isinstance(value, str):
            raise InvalidInput(f"Invalid `{path}.{key}`: `{operator}` compares with a string.")
    elif operator in _ORDERED or operator == "between":
        if not (_is_number(value) or (isinstance(value, str) and parse_datetime(value))):
            raise InvalidInput(
                f"Invalid `{path}.{key}`: `{operator}` compares with a number or a datetime."
            )
    elif not (isinstance(value, str | bool) or _is_number(value)):
        raise InvalidInput(f"Invalid `{path}.{key}`: must be a string, number or boolean.")
    return value


def _string_values(raw: dict[str, Any], path: str) -> tuple[str, ...]:
    # The reference's examples use `values` (a list); one shows `value`, so both are accepted.
    key = "values" if "values" in raw else "value"
    values = raw.get(key)
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values:
        raise InvalidInput(f"Invalid `{path}.values`: must be a non-empty list of strings.")
    if not all(isinstance(v, str) for v in values):
        raise InvalidInput(f"Invalid `{path}.values`: must be a list of strings.")
    return tuple(values)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    # Ints are always finite; `math.isfinite` overflows on ints beyond a float's range.
    return isinstance(value, int) or math.isfinite(value)


# --- evaluation --------------------------------------------------------------------------------


def evaluate(condition: Condition, lookup: Lookup) -> bool:
    if isinstance(condition, Clause):
        if condition.operator == "and":
            return all(evaluate(child, lookup) for child in condition.conditions)
        return any(evaluate(child, lookup) for child in condition.conditions)
    return _matches(condition, lookup(condition.scope, condition.name))


def references_scope(condition: Condition, scope: str) -> bool:
    if isinstance(condition, Clause):
        return any(references_scope(child, scope) for child in condition.conditions)
    return condition.scope == scope


def _matches(condition: AttributeCondition, actual: Any) -> bool:
    operator = condition.operator
    if operator == "empty":
        return _is_empty(actual)
    if operator == "not_empty":
        return not _is_empty(actual)
    if operator == "true":
        return actual is True
    if operator == "false":
        return actual is False
    if operator == "eq":
        return _equals(actual, condition.value)
    if operator == "ne":
        return not _equals(actual, condition.value)
    if operator in _STRING:
        return _string_test(operator, actual, condition.value)
    if operator in _LIST:
        return _list_test(operator, actual, condition.values)
    if operator == "between":
        low, high = condition.value, condition.value2
        return _compare(actual, low, "gte") and _compare(actual, high, "lte")
    return _compare(actual, condition.value, operator)


def _is_empty(actual: Any) -> bool:
    return actual is None or actual == "" or actual == []


def _equals(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list):
        return any(_equals(item, expected) for item in actual)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected or (isinstance(expected, str) and str(actual).lower() == expected)
    if _is_number(actual) and _is_number(expected):
        return bool(actual == expected)
    if _is_number(actual) and isinstance(expected, str):
        return _number_text_equals(actual, expected)
    if isinstance(actual, str) and isinstance(expected, str):
        if actual == expected:
            return True
        moments = _moment(actual), _moment(expected)
        return None not in moments and moments[0] == moments[1]
    if isinstance(actual, str) and _is_number(expected):
        return _number_text_equals(expected, actual)
    return False


def _number_text_equals(number: Any, text: str) -> bool:
    try:
        return bool(float(text) == number)
    except ValueError:
        return False


def _string_test(operator: str, actual: Any, expected: str) -> bool:
    if not isinstance(actual, str):
        # Only strings contain text; `not_contains` is the complement, so it holds for the rest.
        return operator == "not_contains"
    if operator == "contains":
        return expected in actual
    if operator == "not_contains":
        return expected not in actual
    if operator == "starts_with":
        return actual.startswith(expected)
    return actual.endswith(expected)


def _list_test(operator: str, actual: Any, values: tuple[str, ...]) -> bool:
    if actual is None:
        held: set[str] = set()
    elif isinstance(actual, list):
        held = {str(item) for item in actual}
    else:
        held = {str(actual)}
    if operator == "includes_all":
        return all(v in held for v in values)
    if operator == "includes_any":
        return any(v in held for v in values)
    if operator == "excludes_all":
        return not all(v in held for v in values)
    return not any(v in held for v in values)


def _moment(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def _compare(actual: Any, expected: Any, operator: str) -> bool:
    left: Any
    right: Any
    if _is_number(expected):
        if not _is_number(actual):
            return False
        left, right = actual, expected
    else:
        left, right = _moment(actual), _moment(expected)
        if left is None or right is None:
            return False
    if operator == "gt":
        return bool(left > right)
    if operator == "gte":
        return bool(left >= right)
    if operator == "lt":
        return bool(left < right)
    return bool(left <= right)
