"""The page `make bench` writes: docs/benchmarks.md, with its figures in docs/benchmarks/.

Each benchmark module returns `Section`s; `write` puts them on one page under the command, the
machine and the date of the run, so every figure on it was measured side by side. Tables are
built with `table`, curves drawn with `plot` (matplotlib, a dev dependency, imported only when
a figure is drawn).
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "benchmarks.md"
FIGURES = ROOT / "docs" / "benchmarks"
COMMAND = "make bench"

Cell = str | int | float


@dataclass
class Section:
    """One part of the page: a title, what was measured and how (markdown), its tables and
    figures (markdown too: `table` and `plot` return it), and what the figures say."""

    title: str
    method: str
    parts: list[str] = field(default_factory=list)
    findings: str = ""

    def markdown(self) -> str:
        blocks = [f"## {self.title}", self.method.strip(), *self.parts]
        if self.findings:
            blocks.append(self.findings.strip())
        return "\n\n".join(block for block in blocks if block) + "\n"


def fmt(value: Cell, digits: int = 1) -> str:
    """A cell: floats with `digits` decimals and thousands separators, the rest as text."""
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return value


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], digits: int = 1) -> str:
    """A markdown table; numbers right-aligned."""
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) if rows else False
        for i in range(len(headers))
    ]
    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join("---:" if n else "---" for n in numeric) + " |",
    ]
    lines += ["| " + " | ".join(fmt(cell, digits) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def plot(
    name: str,
    title: str,
    x_label: str,
    y_label: str,
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    log_x: bool = False,
    log_y: bool = False,
) -> str:
    """Draws `series` (label -> (xs, ys)) as lines with markers into docs/benchmarks/<name>.png
    and returns the markdown that embeds it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    FIGURES.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    for label, (xs, ys) in series.items():
        axes.plot(xs, ys, marker="o", label=label)
    if log_x:
        axes.set_xscale("log")
    if log_y:
        axes.set_yscale("log")
    axes.set_title(title)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path = FIGURES / f"{name}.png"
    # No timestamps in the file: the same figures give the same bytes.
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
    return f"![{title}](benchmarks/{name}.png)"


def machine() -> str:
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        pass
    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {platform.machine()} ({cpu}), {os.cpu_count()} cores{memory}; "
        f"Python {sys.version.split()[0]}"
    )


def write(sections: Sequence[Section], seconds: float) -> Path:
    header = (
        "# Benchmarks\n\n"
        f"Written by `{COMMAND}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"in {seconds / 60:.1f} minutes, on {machine()}. Every figure on this page comes from "
        "that one run, so ratios compare things measured side by side; absolute times vary "
        "from machine to machine and run to run.\n\n"
        + "\n".join(f"- [{s.title}](#{_anchor(s.title)})" for s in sections)
        + "\n"
    )
    PAGE.write_text("\n".join([header, *(s.markdown() for s in sections)]))
    return PAGE


def _anchor(title: str) -> str:
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -")
    return kept.replace(" ", "-")
