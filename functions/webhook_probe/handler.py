"""Webhook probe: on a schedule, tries each failing receiver whose probe is due (one request
at a time per receiver), and drains the backlog of those that answer again
(shared/services/probing.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger, new_metrics, observed, publish
from shared.services.probing import run

metrics = new_metrics()


@observed()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes = run()
    for outcome, count in sorted(outcomes.items()):
        metrics.add_metric(name=f"Probe{outcome.title()}", unit=MetricUnit.Count, value=count)
    publish(metrics)
    if outcomes:
        logger.info("Probe run", extra={"outcomes": dict(outcomes)})
    return {"outcomes": dict(outcomes)}
