"""Independent DynamoDB calls side by side: a page's expansions, an upsert's many items.

The client's connection pool holds 10 connections; 8 workers keep a call's latency near one
round trip without queueing on the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

WORKERS = 8
_pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="dynamodb")


def run_all(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run the calls concurrently and return their results in order; the first failure is
    raised after every call has finished, so nothing is left running behind the caller."""
    if len(calls) <= 1:
        return [call() for call in calls]
    futures = [_pool.submit(call) for call in calls]
    errors = [future.exception() for future in futures]
    for error in errors:
        if error is not None:
            raise error
    return [future.result() for future in futures]
