"""Logs and metrics for every function, the Powertools way, decided once.

- One Logger per process (Powertools shares it by service name, POWERTOOLS_SERVICE_NAME):
  every line carries the Lambda context and, on the API, the API Gateway request id as
  `correlation_id` (the same value as `request_id` in error envelopes) and the caller's
  `environment_id`.
- Metrics take their namespace from POWERTOOLS_METRICS_NAMESPACE, set by the stack.
- The settings are parsed before the handler runs, so a misconfigured function fails loudly
  on its first invocation, before doing anything.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from shared.settings import get_settings

logger = Logger()

# The REST API's request id: `requestContext.requestId`, in proxy and authorizer events.
API_REQUEST_ID = correlation_paths.API_GATEWAY_REST

Handler = TypeVar("Handler", bound=Callable[..., Any])


def new_metrics() -> Metrics:
    """A function's metrics: namespace and `service` dimension from its environment."""
    return Metrics()


def publish(metrics: Metrics) -> None:
    """Flush what an invocation added, and always start the next one empty: with metrics
    disabled (the local stack, benches) Powertools' flush keeps them, and at 100 values
    `add_metric` prints them itself (and fails without a namespace)."""
    if metrics.metric_set:  # an empty flush only warns
        metrics.flush_metrics()
    metrics.clear_metrics()


def observed(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """Decorates a Lambda handler: settings checked, log state reset, Lambda context and
    correlation id on every line. The local stack's pollers and some tests call handlers
    without a Lambda context: those runs log without its fields."""

    def decorate(handler: Handler) -> Handler:
        injected = logger.inject_lambda_context(
            correlation_id_path=correlation_id_path, clear_state=True
        )(handler)

        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            get_settings()
            if context is not None:
                return injected(event, context)
            logger.clear_state()
            if correlation_id_path:
                logger.set_correlation_id(_request_id(event))
            return handler(event, context)

        return run  # type: ignore[return-value]

    return decorate


def tag_environment(environment_id: str | None) -> None:
    """Every further log line of this invocation names the caller's environment."""
    if environment_id:
        logger.append_keys(environment_id=environment_id)


def _request_id(event: Any) -> str | None:
    context = event.get("requestContext") if isinstance(event, dict) else None
    value = context.get("requestId") if isinstance(context, dict) else None
    return str(value) if value else None
