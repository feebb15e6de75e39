"""Counts DynamoDB calls on a client and the capacity DynamoDB (Local) reports for each."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from bench.capacity import Work

READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


class CallMeter:
    """Counts DynamoDB calls on the shared client and asks each for its consumed capacity
    (`INDEXES`: the total, the table's share and each index's)."""

    def __init__(self, client: Any, *, this_thread_only: bool = False) -> None:
        """`this_thread_only`: count only the calls this thread makes (the local stack's
        pollers share the client from threads of their own)."""
        self.calls: list[str] = []
        self.capacity = 0.0
        self.read_units = 0.0
        self.write_units = 0.0
        self.index_write_units = 0.0  # of write_units: index entries written, moved, deleted
        self.written = 0  # items the write calls wrote or checked (a transaction's every item)
        # Transactions: their items, and the table units DynamoDB Local reported for them.
        self.transaction_items = 0
        self.transaction_table_units = 0.0
        self.thread = threading.get_ident() if this_thread_only else None
        self._lock = threading.Lock()  # the store makes calls side by side from a pool
        client.meta.events.register("provide-client-params.dynamodb.*", self._ask_capacity)
        client.meta.events.register("after-call.dynamodb.*", self._record)

    def _mine(self) -> bool:
        return self.thread is None or threading.get_ident() == self.thread

    def _ask_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "INDEXES"  # the total, and where it went
        if not self._mine():
            return
        with self._lock:
            if model.name == "TransactWriteItems":
                self.written += len(params["TransactItems"])
                self.transaction_items += len(params["TransactItems"])
            elif model.name in {"PutItem", "UpdateItem", "DeleteItem"}:
                self.written += 1

    def _record(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self._mine():
            return
        consumed = parsed.get("ConsumedCapacity") or []
        with self._lock:
            self.calls.append(model.name)
            for entry in consumed if isinstance(consumed, list) else [consumed]:
                units = float(entry.get("CapacityUnits", 0))
                self.capacity += units
                if model.name in READS:
                    self.read_units += units
                    continue
                self.write_units += units
                self.index_write_units += sum(
                    float(index.get("CapacityUnits", 0))
                    for index in (entry.get("GlobalSecondaryIndexes") or {}).values()
                )
                if model.name == "TransactWriteItems":
                    self.transaction_table_units += float(
                        entry.get("Table", {}).get("CapacityUnits", 0)
                    )

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.capacity = 0.0
            self.read_units = 0.0
            self.write_units = 0.0
            self.index_write_units = 0.0
            self.written = 0
            self.transaction_items = 0
            self.transaction_table_units = 0.0

    def by_dynamodb_rules(self) -> float:
        """The capacity as DynamoDB counts a transaction's table units: 2 an item (items up to
        1 KB), where DynamoDB Local rounds the sum of the items' sizes instead."""
        return self.capacity - self.transaction_table_units + 2 * self.transaction_items

    def work(self) -> Work:
        """Calls, read units and write units (transactions by DynamoDB's rules)."""
        writes = self.write_units - self.transaction_table_units + 2 * self.transaction_items
        return Work(len(self.calls), self.read_units, writes)

    def detail(self) -> str:
        """The calls by operation, e.g. `BatchGetItem, UpdateItem` or `10 Query`."""
        counts = Counter(self.calls)
        return ", ".join(f"{n} {name}" if n > 1 else name for name, n in counts.items())

    def summary(self) -> str:
        return f"{len(self.calls):3d} calls  {self.capacity:6.1f} CU  ({self.detail()})"
