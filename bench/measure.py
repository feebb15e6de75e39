"""Pure arithmetic for the timed benchmarks: percentiles, a cell of a load run, and ratios of
one run to a baseline run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `fraction` of the values
    at or below it (p50 of 1..4 is 2, p99 of 1..100 is 99)."""
    if not values:
        raise ValueError("no values: a percentile needs at least one")
    if not 0 < fraction <= 1:
        raise ValueError(f"the fraction must be in (0, 1], not {fraction}")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class Cell:
    """One operation at one concurrency: what came back and how fast."""

    operation: str
    clients: int
    seconds: float  # wall time of the measured window
    latencies: tuple[float, ...]  # seconds, one per answered request
    errors: int = 0  # answers that were not 2xx (or connections that failed)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000


def overhead_rows(cells: Sequence[Cell], baseline: str) -> list[tuple[str, int, float, float]]:
    """(operation, clients, rps ÷ baseline rps, p50 ÷ baseline p50) for every cell but the
    baseline's, each against the baseline cell with the same number of clients."""
    base = {cell.clients: cell for cell in cells if cell.operation == baseline}
    rows = []
    for cell in cells:
        if cell.operation == baseline:
            continue
        reference = base.get(cell.clients)
        if reference is None:
            raise ValueError(f"no {baseline!r} cell with {cell.clients} clients to compare with")
        rows.append(
            (
                cell.operation,
                cell.clients,
                cell.rps / reference.rps,
                cell.p50_ms / reference.p50_ms,
            )
        )
    return rows
