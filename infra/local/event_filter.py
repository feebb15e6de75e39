"""Lambda event filtering, as an event source mapping applies its filter criteria, for the
local stack: only the records a function's mapping would pass reach it.

Supports the pattern forms the stack uses: nested objects, and at each leaf a list of allowed
values, each a literal or `{"prefix": "..."}`.
"""

from __future__ import annotations

from typing import Any


def matches(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    for key, expected in pattern.items():
        if key not in record:
            return False
        value = record[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches(expected, value):
                return False
        elif not any(_allows(rule, value) for rule in expected):
            return False
    return True


def _allows(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict):
        if set(rule) != {"prefix"}:
            raise ValueError(f"unsupported filter rule {rule!r}")
        return isinstance(value, str) and value.startswith(rule["prefix"])
    return bool(rule == value)
