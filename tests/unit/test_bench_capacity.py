"""The minimum-capacity calculator follows DynamoDB's documented rules."""

from __future__ import annotations

import pytest

from bench import capacity
from bench.capacity import Work


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "abc"}, 3),
        ({"S": "é"}, 2),  # UTF-8 bytes, not characters
        ({"N": "12345"}, 4),  # 5 significant digits: 3 bytes + 1
        ({"N": "1000"}, 2),  # trailing zeros are not significant
        ({"N": "-0.05"}, 2),
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"L": [{"S": "ab"}, {"S": "c"}]}, 3 + (1 + 2) + (1 + 1)),
        ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1),
        ({"SS": ["a", "bc"]}, 3),
    ],
)
def test_a_value_is_sized_as_dynamodb_counts_it(value: dict[str, object], size: int) -> None:
    assert capacity.value_bytes(value) == size


def test_an_item_counts_its_attribute_names_and_values() -> None:
    item = {"PK": {"S": "E#e#U#1"}, "SK": {"S": "U"}, "v": {"N": "1"}}
    assert capacity.item_bytes(item) == (2 + 7) + (2 + 1) + (1 + 2)


@pytest.mark.parametrize(
    ("size", "units", "transactional"),
    [(0, 1, False), (1024, 1, False), (1025, 2, False), (3000, 3, False), (500, 2, True)],
)
def test_a_write_is_one_unit_per_started_kilobyte_twice_in_a_transaction(
    size: int, units: int, transactional: bool
) -> None:
    assert capacity.write_units(size, transactional=transactional) == units


def test_a_read_is_one_unit_per_4_kb_consistent_half_eventually_consistent() -> None:
    assert capacity.read_units(4096) == 1.0
    assert capacity.read_units(4097) == 2.0
    assert capacity.read_units(100, consistent=False) == 0.5
    assert capacity.read_units(100, transactional=True) == 2.0


def test_a_query_rounds_the_summed_size_once_not_each_item() -> None:
    # 100 items of 200 bytes: 20,000 bytes are 5 units of 4 KB, halved when eventually
    # consistent; rounding each item would make it 100 units.
    assert capacity.query_units([200] * 100) == 2.5
    assert capacity.query_units([200] * 100, consistent=True) == 5.0
    assert capacity.query_units([]) == 0.5


def test_index_entries_cost_a_copy_of_the_item_each() -> None:
    assert capacity.put(1500, index_entries=2) == Work(1, 0.0, 6.0)


def test_batch_writes_take_25_items_a_call_each_rounded_on_its_own() -> None:
    assert capacity.batch_write([100] * 26) == Work(2, 0.0, 26.0)
    assert capacity.batch_write([2000] * 3, index_entries=1) == Work(1, 0.0, 12.0)


def test_work_adds_up() -> None:
    total = capacity.get(100) + capacity.put(100) + capacity.query([100], consistent=False)
    assert total == Work(3, 1.5, 1.0)
    assert total.times(2) == Work(6, 3.0, 2.0)
    assert total.units == 2.5
