"""Ordered entries' sort keys: text order is the list order, whatever the types."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.ordering import sort_value
from shared.domain.sortable import SEPARATOR, sortable, sortable_number

numbers = st.decimals(
    min_value=Decimal("-9.9E125"), max_value=Decimal("9.9E125"), allow_nan=False, places=None
).filter(lambda d: d.is_zero() or abs(d) >= Decimal("1E-130"))


@given(numbers, numbers)
def test_number_text_order_is_number_order(a: Decimal, b: Decimal) -> None:
    # What follows the number in a sort key starts with the separator.
    left, right = sortable_number(a) + SEPARATOR, sortable_number(b) + SEPARATOR
    assert (left < right) == (a < b)
    assert (left == right) == (a == b)


@pytest.mark.parametrize(
    "ordered",
    [
        [-1e100, -12.5, -12, -1.25, -1, -0.001, 0, 1e-100, 0.5, 1, True, 2, 10, 11.5, 1e100],
        ["", "Ada", "ada lovelace", "Adam", "b", "z", "Å", "é"],
        [3, "2025-01-01T00:00:00.000Z", "2025-06-01T00:00:00.000Z", "3", None],
    ],
)
def test_values_sort_as_lists_sorted_in_memory(ordered: list[Any]) -> None:
    assert sorted(ordered, key=lambda v: sortable(v) + SEPARATOR) == sorted(ordered, key=sort_value)
    assert sorted(ordered, key=lambda v: sortable(v) + SEPARATOR) == ordered


def test_a_long_text_keeps_its_first_120_folded_characters_without_control_characters() -> None:
    assert sortable("A\x01b\nC" + "x" * 300) == "2abc" + "x" * 117
