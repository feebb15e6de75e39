"""`make bench`: what every request costs, measured in one run and written to
docs/benchmarks.md (bench/report.py).

`python -m bench` runs every section and writes the page; `python -m bench <section>...` runs
only those and prints their markdown, leaving the page alone (the page is always one whole
run, side by side).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time

# Section name -> the module whose `run()` returns its sections, in page order.
SECTIONS = {
    "coldstart": "bench.coldstart",
    "dynamodb": "bench.dynamo_work",
    "throughput": "bench.throughput",
    "webhooks": "bench.webhooks",
    "growth": "bench.growth",
    "cost": "bench.cost",
    "scaling": "bench.scaling",
}


def main(argv: list[str]) -> None:
    # Metric lines (EMF JSON on stdout) are for CloudWatch, not for this output; the namespace
    # is set as the stack sets it, before any handler builds its Metrics.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Waymark")
    logging.basicConfig(level=logging.WARNING)
    unknown = [name for name in argv if name not in SECTIONS]
    if unknown:
        sys.exit(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    from bench import report

    started = time.perf_counter()
    sections: list[report.Section] = []
    for name in argv or SECTIONS:
        print(f"== {name}", file=sys.stderr, flush=True)
        sections += importlib.import_module(SECTIONS[name]).run()
    if argv:
        print("\n".join(section.markdown() for section in sections))
        return
    page = report.write(sections, time.perf_counter() - started)
    print(f"wrote {page.relative_to(report.ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
