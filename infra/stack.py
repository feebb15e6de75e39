"""The Waymark stack for one stage: the table, the API, the cascade, webhooks, import and
export jobs, monitoring."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack, Tags
from constructs import Construct

from infra.constructs.api import ApiConstruct
from infra.constructs.cascade import CascadeConstruct
from infra.constructs.monitoring import (
    WARNING,
    MonitoredFunction,
    MonitoredQueue,
    MonitoringConstruct,
    SuccessRate,
)
from infra.constructs.python_function import PythonFunction
from infra.constructs.table import TableConstruct
from infra.constructs.transfers import TransfersConstruct
from infra.constructs.webhooks import DELIVERY_OUTCOMES, WebhooksConstruct

PRODUCTION_STAGE = "prod"


def _watched(function: PythonFunction, *, stream: bool = False) -> MonitoredFunction:
    return MonitoredFunction(
        name=function.route.name,
        function=function.function,
        timeout=function.settings.timeout,
        stream=stream,
    )


class WaymarkStack(Stack):
    """Everything one stage needs; `prod` keeps its data and logs when the stack goes away."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.stage = stage
        production = stage == PRODUCTION_STAGE
        removal_policy = RemovalPolicy.RETAIN if production else RemovalPolicy.DESTROY

        self.table = TableConstruct(self, "Data", production=production)
        self.api = ApiConstruct(
            self, "Api", stage=stage, table=self.table, removal_policy=removal_policy
        )
        self.cascade = CascadeConstruct(
            self, "Cascade", table=self.table, removal_policy=removal_policy
        )
        self.webhooks = WebhooksConstruct(
            self,
            "Webhooks",
            table=self.table,
            subscriptions_function=self.api.functions["webhook_subscriptions"],
            removal_policy=removal_policy,
        )
        self.transfers = TransfersConstruct(
            self,
            "Transfers",
            table=self.table,
            api_function=self.api.functions["transfers"],
            removal_policy=removal_policy,
        )
        self.monitoring = MonitoringConstruct(
            self,
            "Monitoring",
            stage=stage,
            api=self.api.api,
            functions=[
                _watched(self.api.authorizer_function),
                *(_watched(function) for function in self.api.functions.values()),
                _watched(self.cascade.function, stream=True),
                _watched(self.webhooks.dispatch, stream=True),
                _watched(self.webhooks.delivery),
                _watched(self.webhooks.probe),
                _watched(self.transfers.function),
            ],
            table=self.table.table,
            dead_letter_queues={
                "cascade": self.cascade.dead_letter_queue,
                "webhook-dispatch": self.webhooks.dispatch_failures,
                "transfer-jobs": self.transfers.dead_letter_queue,
            },
            queues=[
                MonitoredQueue(
                    name="webhook-delivery",
                    queue=self.webhooks.queue,
                    dead_letter_queue=self.webhooks.dead_letter_queue,
                    # A fresh notification waiting this long means delivery is stuck. Retried
                    # messages leave this metric after their third receive (SQS), and the first
                    # retries come within a minute, unless a receiver's Retry-After asks more.
                    max_message_age=Duration.hours(1),
                    # Mostly a receiver that failed for 3 days (or a poison message): an
                    # operator looks and resends, but it is not our outage.
                    dead_letter_severity=WARNING,
                )
            ],
            success_rates=[
                SuccessRate(
                    name="webhook-delivery",
                    namespace=DELIVERY_OUTCOMES.namespace,
                    service=DELIVERY_OUTCOMES.service,
                    succeeded=DELIVERY_OUTCOMES.succeeded,
                    failed=DELIVERY_OUTCOMES.failed,
                    graphed=DELIVERY_OUTCOMES.graphed,
                    # Receivers are other people's servers: a low rate is worth a look,
                    # not a page.
                    min_rate=80.0,
                )
            ],
            removal_policy=removal_policy,
        )

        Tags.of(self).add("project", "waymark")
        Tags.of(self).add("stage", stage)
