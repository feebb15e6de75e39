"""Lists kept in N shards, read back in one order: a k-way merge by sort key.

A hot index key is written under one of N shard keys (shared/store/keys.py); a list in order
reads each shard in that order and merges them. Pure: the shards are iterables (the store's
are read lazily, a Query at a time), so the merge reads no further than the page needs.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any, TypeVar

T = TypeVar("T")


def merged_page(
    shards: Sequence[Iterable[T]],
    *,
    sort_key: Callable[[T], Any],
    descending: bool,
    limit: int,
) -> tuple[list[T], bool]:
    """The first `limit` items of the shards merged in `sort_key` order (each shard already in
    that order, no item in two shards), and whether there are more."""
    merged = heapq.merge(*shards, key=sort_key, reverse=descending)
    window = list(islice(merged, limit + 1))
    return window[:limit], len(window) > limit


def share_of_page(limit: int, shards: int) -> int:
    """Items to ask each shard for first: its expected share of the page and half again,
    plus two, so that a page rarely needs a second Query of any shard (items spread evenly
    over the shards by hash: a shard's share of `limit + 1` items is binomial)."""
    return -(-3 * (limit + 1) // (2 * shards)) + 2
