"""Many independent writes in one invocation (POST /users/bulk, import jobs): each item is
all-or-nothing on its own (a refused item writes nothing, as its own request would), items
run side by side within a bounded concurrency, and none starts once the time left is short,
so the whole answers within its deadline.

Items with the same key (a user id) run one after another in their given order, so a list of
writes to one object lands as it would one request at a time. The workers are a pool of
their own: an item's write runs its own calls side by side on the shared pool
(shared/store/parallel.py), and a task never waits on the pool it runs in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from shared.http.conventions import parse_model
from shared.services import writes
from shared.store.attributed import Record

T = TypeVar("T")

# Items in flight at once. Each holds one or two DynamoDB calls (an upsert with groups more,
# on the shared pool): with the shared pool's 8 this stays within the client's 32
# connections (shared/aws.py).
CONCURRENCY = 16
_pool = ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="bulk")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One item's result: its value, the error that refused it, or neither when it was not
    started (the time ran short)."""

    value: T | None = None
    error: Exception | None = None

    @property
    def started(self) -> bool:
        return self.value is not None or self.error is not None


def run_each(
    calls: Sequence[Callable[[], T]],
    *,
    keys: Sequence[str],
    time_left: Callable[[], float] = lambda: math.inf,
    reserve_seconds: float = 0.0,
) -> list[Outcome[T]]:
    """Run every call (its exceptions become its outcome), in the order of `calls` for each
    key; a call not started while `time_left()` (seconds) was at least `reserve_seconds` is
    left out."""
    outcomes: list[Outcome[T]] = [Outcome() for _ in calls]
    chains: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        chains.setdefault(key, []).append(index)

    def run_chain(indexes: list[int]) -> None:
        for index in indexes:
            if time_left() < reserve_seconds:
                return
            try:
                outcomes[index] = Outcome(value=calls[index]())
            except Exception as error:
                outcomes[index] = Outcome(error=error)

    for future in [_pool.submit(run_chain, chain) for chain in chains.values()]:
        future.result()
    return outcomes


def item_key(index: int, item: Any) -> str:
    """Writes to one id run in order; an item without a usable id runs on its own."""
    object_id = item.get("id") if isinstance(item, dict) else None
    if isinstance(object_id, int) and not isinstance(object_id, bool):
        object_id = str(object_id)
    return f"id:{object_id}" if isinstance(object_id, str) else f"item:{index}"


def upsert_users(
    environment_id: str,
    items: Sequence[Any],
    *,
    time_left: Callable[[], float] = lambda: math.inf,
    reserve_seconds: float = 0.0,
) -> list[Outcome[Record]]:
    """Each item as a POST /users body (parsed, checked and written on its own)."""
    from shared.http.models import UpsertUserBody  # pydantic: on first use, not at cold start

    return _upsert_each(
        items,
        lambda item: writes.upsert_user(environment_id, parse_model(UpsertUserBody, item)),
        time_left=time_left,
        reserve_seconds=reserve_seconds,
    )


def upsert_groups(environment_id: str, items: Sequence[Any]) -> list[Outcome[Record]]:
    """Each item as a POST /groups body."""
    from shared.http.models import UpsertGroupBody  # pydantic: on first use, not at cold start

    return _upsert_each(
        items,
        lambda item: writes.upsert_group(environment_id, parse_model(UpsertGroupBody, item)),
        time_left=lambda: math.inf,
        reserve_seconds=0.0,
    )


def _upsert_each(
    items: Sequence[Any],
    upsert: Callable[[Any], Record],
    *,
    time_left: Callable[[], float],
    reserve_seconds: float,
) -> list[Outcome[Record]]:
    return run_each(
        [partial(upsert, item) for item in items],
        keys=[item_key(index, item) for index, item in enumerate(items)],
        time_left=time_left,
        reserve_seconds=reserve_seconds,
    )
