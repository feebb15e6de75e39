"""The Waymark stack for one stage: the table, the API, the cascade, and their monitoring."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack, Tags
from constructs import Construct

from infra.constructs.api import ApiConstruct
from infra.constructs.cascade import CascadeConstruct
from infra.constructs.monitoring import MonitoredFunction, MonitoringConstruct
from infra.constructs.python_function import PythonFunction
from infra.constructs.table import TableConstruct

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
        self.monitoring = MonitoringConstruct(
            self,
            "Monitoring",
            stage=stage,
            api=self.api.api,
            functions=[
                _watched(self.api.authorizer_function),
                *(_watched(function) for function in self.api.functions.values()),
                _watched(self.cascade.function, stream=True),
            ],
            table=self.table.table,
            dead_letter_queues={"cascade": self.cascade.dead_letter_queue},
            removal_policy=removal_policy,
        )

        Tags.of(self).add("project", "waymark")
        Tags.of(self).add("stage", stage)
