"""Ordering and paging of lists held in memory (condition filters, definitions)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from shared.domain.errors import InvalidInput

T = TypeVar("T")


class OrderSpec(Protocol):
    @property
    def field(self) -> str: ...
    @property
    def descending(self) -> bool: ...


def sort_value(value: Any) -> tuple[int, Any]:
    """Numbers before text, text case-blind, missing values after both."""
    if value is None:
        return (2, 0)
    if isinstance(value, bool | int | float):
        return (0, value)
    return (1, str(value).casefold())


def page_in_memory(
    items: Sequence[T],
    *,
    order_by: Sequence[OrderSpec],
    limit: int,
    starting_after: str | None,
    value_of: Callable[[T, str], Any],
    id_of: Callable[[T], str],
    tie_breaker: Callable[[T], Any],
) -> tuple[list[T], bool]:
    """Sort by `order_by` (ties in `tie_breaker` order), then take the page after an id."""
    ordered = sorted(items, key=tie_breaker)
    for order in reversed(order_by):  # stable sorts, the last field first

        def key(item: T, field: str = order.field) -> Any:
            return sort_value(value_of(item, field))

        ordered.sort(key=key, reverse=order.descending)
    start = 0
    if starting_after is not None:
        ids = [id_of(item) for item in ordered]
        if starting_after not in ids:
            raise InvalidInput(f"Invalid `starting_after`: {starting_after!r} is not in this list.")
        start = ids.index(starting_after) + 1
    window = ordered[start : start + limit + 1]
    return window[:limit], len(window) > limit
