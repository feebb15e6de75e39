"""DynamoDB's capacity rules, to state the least an operation could cost beside what it costs.

On-demand capacity as DynamoDB documents it
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):

- a write is 1 write unit per 1 KB of the item (the larger of before and after), rounded up
  per item; a transaction's write is 2 per 1 KB;
- a read is 1 unit per 4 KB strongly consistent, 0.5 eventually consistent, rounded up per
  item for GetItem and BatchGetItem; a Query rounds the summed size of what it read;
  a transaction's read is 2 per 4 KB;
- every index entry an item writes, moves or deletes is a write of its own (1 per 1 KB of the
  projected item; moving an entry is a delete and a put: 2).

Item sizes are counted as DynamoDB counts them: attribute names plus values (UTF-8 strings,
about 1 byte per 2 significant digits of a number plus 1, 3 bytes of overhead for a list or
map plus 1 per element, 1 byte for a boolean or null), on items in DynamoDB's wire format
(`{"S": "..."}`), as the low-level client returns them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096


def value_bytes(value: Mapping[str, Any]) -> int:
    """The size of one attribute value in wire format, by DynamoDB's rules."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(str(content).encode("utf-8"))
    if kind == "N":
        return number_bytes(str(content))
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode("utf-8")) for s in content)
    if kind == "NS":
        return sum(number_bytes(str(n)) for n in content)
    if kind == "BS":
        return sum(len(b) for b in content)
    if kind == "L":
        return 3 + sum(1 + value_bytes(v) for v in content)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_bytes(v) for k, v in content.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def number_bytes(text: str) -> int:
    """About 1 byte per 2 significant digits, plus 1 (leading and trailing zeros trimmed)."""
    mantissa = text.lstrip("+-").lower().split("e")[0].replace(".", "")
    digits = mantissa.strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    """An item's size: every attribute's name (UTF-8) and value."""
    return sum(len(name.encode("utf-8")) + value_bytes(value) for name, value in item.items())


def write_units(size: int, *, transactional: bool = False) -> int:
    """Units of one item's write (put, update or delete) of `size` bytes; at least 1."""
    units = max(1, math.ceil(size / WRITE_UNIT_BYTES))
    return 2 * units if transactional else units


def read_units(size: int, *, consistent: bool = True, transactional: bool = False) -> float:
    """Units of one item's GetItem (or one item of a BatchGetItem); at least one 4 KB unit."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


def query_units(sizes: Iterable[int], *, consistent: bool = False) -> float:
    """Units of one Query (or Scan) page: the summed size of the items read, rounded up to
    4 KB once, not per item; at least one unit even when nothing matched."""
    units = max(1, math.ceil(sum(sizes) / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


@dataclass(frozen=True)
class Work:
    """Calls and capacity units, read and write; `+` adds two pieces of work."""

    calls: int = 0
    read_units: float = 0.0
    write_units: float = 0.0

    def __add__(self, other: Work) -> Work:
        return Work(
            self.calls + other.calls,
            self.read_units + other.read_units,
            self.write_units + other.write_units,
        )

    def times(self, n: int) -> Work:
        return Work(self.calls * n, self.read_units * n, self.write_units * n)

    @property
    def units(self) -> float:
        return self.read_units + self.write_units


def put(size: int, *, index_entries: int = 0) -> Work:
    """One PutItem or UpdateItem of an item of `size` bytes that writes `index_entries` index
    entries (each a copy of the whole item: every index here projects ALL)."""
    return Work(1, 0.0, float(write_units(size) * (1 + index_entries)))


def get(size: int, *, consistent: bool = True) -> Work:
    return Work(1, read_units(size, consistent=consistent), 0.0)


def query(sizes: Iterable[int], *, consistent: bool = False) -> Work:
    return Work(1, query_units(sizes, consistent=consistent), 0.0)


def batch_write(sizes: list[int], *, index_entries: int = 0) -> Work:
    """BatchWriteItem puts or deletes of items of `sizes`, 25 a call, each item rounded on its
    own, each with `index_entries` index entries."""
    units = sum(write_units(s) for s in sizes) * (1 + index_entries)
    return Work(math.ceil(len(sizes) / 25), 0.0, float(units))
