"""The Waymark stack for one stage: the table, the API (with an optional custom domain), the
cascade, webhooks, import and export jobs, monitoring."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from constructs import Construct

from infra.constructs.api import ApiConstruct
from infra.constructs.cascade import CascadeConstruct
from infra.constructs.domain import DomainSettings
from infra.constructs.monitoring import MonitoringConstruct, Outcomes, Watched
from infra.constructs.table import TableConstruct
from infra.constructs.transfers import TransfersConstruct
from infra.constructs.webhooks import DELIVERY_OUTCOMES, WebhooksConstruct
from shared.settings import METRICS_NAMESPACE

PRODUCTION_STAGE = "prod"


class WaymarkStack(Stack):
    """Everything one stage needs; `prod` keeps its data and logs when the stack goes away."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        domain: DomainSettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.stage = stage
        production = stage == PRODUCTION_STAGE
        removal_policy = RemovalPolicy.RETAIN if production else RemovalPolicy.DESTROY

        self.table = TableConstruct(self, "Data", production=production)
        self.api = ApiConstruct(
            self,
            "Api",
            stage=stage,
            table=self.table,
            removal_policy=removal_policy,
            domain=domain,
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
        functions = {
            function.route.name: function.function
            for function in (
                self.api.authorizer_function,
                *self.api.functions.values(),
                self.cascade.function,
                *self.webhooks.functions,
                self.transfers.function,
            )
        }
        self.monitoring = MonitoringConstruct(
            self,
            "Monitoring",
            stage=stage,
            watched=Watched(
                api=self.api.api,
                access_logs=self.api.access_logs,
                metrics_namespace=METRICS_NAMESPACE,
                functions=functions,
                stream_consumers={
                    "cascade": self.cascade.function.function,
                    "webhook-dispatch": self.webhooks.dispatch.function,
                },
                probe=self.webhooks.probe.function,
                delivery_queue=self.webhooks.queue,
                dead_letter_queues={
                    "cascade": self.cascade.dead_letter_queue,
                    "webhook-dispatch": self.webhooks.dispatch_failures,
                    "webhook-delivery": self.webhooks.dead_letter_queue,
                    "transfer-jobs": self.transfers.dead_letter_queue,
                },
                deliveries=Outcomes(
                    namespace=DELIVERY_OUTCOMES.namespace,
                    service=DELIVERY_OUTCOMES.service,
                    names=DELIVERY_OUTCOMES.all,
                ),
                table=self.table.table,
            ),
            removal_policy=removal_policy,
        )

        # The CLI reads them (`waymark --stack`), with the API's outputs.
        for name, value, description in (
            ("TableName", self.table.table.table_name, "DynamoDB table"),
            ("SecretsKeyArn", self.webhooks.secrets_key.key_arn, "KMS key of webhook secrets"),
        ):
            CfnOutput(self, name, value=value, description=description).override_logical_id(name)

        Tags.of(self).add("project", "waymark")
        Tags.of(self).add("stage", stage)
