"""One operator dashboard, and alarms only for what needs a person.

The dashboard shows the whole stack on one page: the API (requests, 4xx, 5xx, 429s, latency
p50/p99), every function (errors, throttles, duration), the stream consumers (iterator age),
the webhook queues (depth, age of the oldest message, dead letters), deliveries (succeeded,
failed, parked, skipped, backlogged) and the table (throttled requests, consumed capacity).

Alarms fire only where someone must act, and each has a runbook entry in
docs/operations.md (the alarm's description links it; tests/infra/test_monitoring.py checks
every alarm has one). Everything else (a 4xx rate, a slow receiver, a cold start) is on the
dashboard. Alarms notify one encrypted SNS topic; the `AlarmEmail` deploy parameter
subscribes an address to it (`cdk deploy --parameters AlarmEmail=ops@example.com`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import CfnCondition, CfnParameter, Duration, Fn, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

RUNBOOK = "docs/operations.md"
# The API's 429s, counted from its access log (API Gateway has no metric of its own for them).
THROTTLED_METRIC = "ApiThrottled"
PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class MonitoringSettings:
    api_5xx_count: int = 5  # per 5-minute period, in 2 of 3 periods
    stream_iterator_age: Duration = field(default_factory=lambda: Duration.minutes(15))
    # A fresh notification waiting this long means delivery is stuck. Retried messages leave
    # this metric after their third receive (SQS), and the first retries come within a
    # minute, unless a receiver's Retry-After asks more.
    delivery_queue_age: Duration = field(default_factory=lambda: Duration.hours(1))
    # The probe runs every minute: failing three 5-minute periods in a row is not a blip.
    probe_failing_periods: int = 3


@dataclass(frozen=True)
class Outcomes:
    """Custom metrics a function emits (Powertools: the namespace, a `service` dimension)."""

    namespace: str
    service: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Watched:
    """What the dashboard and the alarms read: the stack's parts, by role."""

    api: apigw.RestApi
    access_logs: logs.ILogGroup
    metrics_namespace: str
    functions: Mapping[str, lambda_.IFunction]  # name -> function, every function
    stream_consumers: Mapping[str, lambda_.IFunction]  # name -> stream-consuming function
    probe: lambda_.IFunction
    delivery_queue: sqs.IQueue
    dead_letter_queues: Mapping[str, sqs.IQueue]  # name -> queue (any message needs a person)
    deliveries: Outcomes
    table: dynamodb.ITable


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: `runbook` is its heading's anchor in docs/operations.md."""

    name: str
    runbook: str
    metric: cloudwatch.IMetric
    threshold: float
    summary: str
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1


class MonitoringConstruct(Construct):
    """The dashboard, the alarms, the alarm topic and its optional e-mail subscription."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        watched: Watched,
        removal_policy: RemovalPolicy,
        settings: MonitoringSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or MonitoringSettings()
        self.prefix = f"waymark-{stage}"
        self.watched = watched

        # Encrypted at rest (AwsSolutions-SNS2) with a key of ours: CloudWatch alarms cannot
        # publish to a topic under the AWS managed aws/sns key, whose policy we cannot extend.
        self.alarm_key = kms.Key(
            self,
            "AlarmKey",
            description=f"Waymark {stage}: encrypts the alarm topic",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.alarm_key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.alarm_topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"Waymark {stage} alarms",
            enforce_ssl=True,
            master_key=self.alarm_key,
        )
        self._subscribe_alarm_email()

        self.throttled = logs.MetricFilter(
            self,
            "Throttled",
            log_group=watched.access_logs,
            metric_namespace=watched.metrics_namespace,
            metric_name=THROTTLED_METRIC,
            filter_pattern=logs.FilterPattern.string_value("$.status", "=", "429"),
            metric_value="1",
            default_value=0,
        )
        self.alarms = [self._alarm(spec) for spec in self.alarm_specs(settings)]
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.prefix,
            default_interval=Duration.hours(6),
            widgets=self._rows(),
        )

    def _subscribe_alarm_email(self) -> None:
        self.alarm_email = CfnParameter(
            self,
            "AlarmEmail",
            type="String",
            default="",
            description="E-mail address alarms are sent to (empty: subscribe someone later)",
            allowed_pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
        )
        self.alarm_email.override_logical_id("AlarmEmail")
        has_email = CfnCondition(
            self,
            "HasAlarmEmail",
            expression=Fn.condition_not(Fn.condition_equals(self.alarm_email.value_as_string, "")),
        )
        subscription = sns.CfnSubscription(
            self,
            "AlarmEmailSubscription",
            topic_arn=self.alarm_topic.topic_arn,
            protocol="email",
            endpoint=self.alarm_email.value_as_string,
        )
        subscription.cfn_options.condition = has_email

    # --- alarms ------------------------------------------------------------------------------

    def alarm_specs(self, settings: MonitoringSettings) -> list[AlarmSpec]:
        watched = self.watched
        specs = [
            AlarmSpec(
                name="Api5xx",
                runbook="api5xx",
                metric=watched.api.deployment_stage.metric_server_error(
                    period=PERIOD, statistic="Sum"
                ),
                threshold=settings.api_5xx_count,
                summary="The API answers 5xx: a function fails, times out or is throttled.",
                evaluation_periods=3,
                datapoints_to_alarm=2,
            ),
            AlarmSpec(
                name="DeliveryQueueStuck",
                runbook="deliveryqueuestuck",
                metric=watched.delivery_queue.metric_approximate_age_of_oldest_message(
                    period=PERIOD, statistic="Maximum"
                ),
                threshold=settings.delivery_queue_age.to_seconds(),
                summary="Webhook notifications wait in the delivery queue: delivery is stuck.",
                evaluation_periods=2,
                datapoints_to_alarm=2,
            ),
            AlarmSpec(
                name="ProbeFailing",
                runbook="probefailing",
                metric=watched.probe.metric_errors(period=PERIOD, statistic="Sum"),
                threshold=0,
                summary="The webhook probe keeps failing: open circuits never close.",
                evaluation_periods=settings.probe_failing_periods,
                datapoints_to_alarm=settings.probe_failing_periods,
            ),
        ]
        for name, function in watched.stream_consumers.items():
            specs.append(
                AlarmSpec(
                    name=f"{_camel(name)}StreamBehind",
                    runbook="streambehind",
                    metric=function.metric("IteratorAge", period=PERIOD, statistic="Maximum"),
                    threshold=settings.stream_iterator_age.to_milliseconds(),
                    summary=f"The {name} function is behind on the table's stream.",
                    evaluation_periods=2,
                    datapoints_to_alarm=2,
                )
            )
        for name, queue in watched.dead_letter_queues.items():
            specs.append(
                AlarmSpec(
                    name=f"{_camel(name)}DeadLetters",
                    runbook=f"{_camel(name).lower()}deadletters",
                    metric=queue.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic="Maximum"
                    ),
                    threshold=0,
                    summary=f"Messages wait on the {name} dead-letter queue.",
                )
            )
        return specs

    def _alarm(self, spec: AlarmSpec) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            f"{spec.name}Alarm",
            alarm_name=f"{self.prefix}-{spec.name}",
            alarm_description=f"{spec.summary} Runbook: {RUNBOOK}#{spec.runbook}",
            metric=spec.metric,
            threshold=spec.threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints_to_alarm,
            # No data is no news: a quiet stack is not a broken one.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.alarm_topic))
        alarm.add_ok_action(actions.SnsAction(self.alarm_topic))
        return alarm

    # --- the dashboard -----------------------------------------------------------------------

    def _rows(self) -> list[list[cloudwatch.IWidget]]:
        watched = self.watched
        stage = watched.api.deployment_stage
        functions = watched.functions

        def per_function(title: str, metric_name: str, statistic: str) -> cloudwatch.GraphWidget:
            return _graph(
                title,
                [
                    function.metric(metric_name, statistic=statistic, period=PERIOD, label=name)
                    for name, function in functions.items()
                ],
                width=8,
            )

        outcomes = watched.deliveries
        return [
            [
                cloudwatch.TextWidget(
                    markdown=(
                        f"# Waymark {self.prefix}\nAlarms and what to do: `{RUNBOOK}`. "
                        "Logs: one log group per function (`correlation_id` is the API "
                        "request id, `environment_id` the caller); API access log: "
                        "`requestId`, `environmentId`, `status`."
                    ),
                    width=24,
                    height=2,
                ),
                cloudwatch.AlarmStatusWidget(
                    title="Alarms", alarms=list(self.alarms), width=24, height=3
                ),
            ],
            [
                _graph(
                    "API requests and errors (sum / 5 min)",
                    [
                        stage.metric_count(period=PERIOD, statistic="Sum", label="requests"),
                        stage.metric_client_error(period=PERIOD, statistic="Sum", label="4xx"),
                        stage.metric_server_error(period=PERIOD, statistic="Sum", label="5xx"),
                        self.throttled.metric(period=PERIOD, statistic="Sum", label="429"),
                    ],
                    width=12,
                ),
                _graph(
                    "API latency (ms)",
                    [
                        stage.metric_latency(period=PERIOD, statistic="p50", label="p50"),
                        stage.metric_latency(period=PERIOD, statistic="p99", label="p99"),
                        stage.metric_integration_latency(
                            period=PERIOD, statistic="p99", label="integration p99"
                        ),
                    ],
                    width=12,
                ),
            ],
            [
                per_function("Function errors", "Errors", "Sum"),
                per_function("Function throttles", "Throttles", "Sum"),
                per_function("Function duration p99 (ms)", "Duration", "p99"),
            ],
            [
                _graph(
                    "Stream iterator age (ms, max)",
                    [
                        function.metric(
                            "IteratorAge", statistic="Maximum", period=PERIOD, label=name
                        )
                        for name, function in watched.stream_consumers.items()
                    ],
                    width=6,
                ),
                _graph(
                    "Delivery queue",
                    [
                        watched.delivery_queue.metric_approximate_number_of_messages_visible(
                            period=PERIOD, statistic="Maximum", label="messages"
                        )
                    ],
                    right=[
                        watched.delivery_queue.metric_approximate_age_of_oldest_message(
                            period=PERIOD, statistic="Maximum", label="oldest (s)"
                        )
                    ],
                    width=6,
                ),
                _graph(
                    "Dead-letter queues (messages)",
                    [
                        queue.metric_approximate_number_of_messages_visible(
                            period=PERIOD, statistic="Maximum", label=name
                        )
                        for name, queue in watched.dead_letter_queues.items()
                    ],
                    width=6,
                ),
                _graph(
                    "Webhook deliveries (sum / 5 min)",
                    [
                        cloudwatch.Metric(
                            namespace=outcomes.namespace,
                            metric_name=name,
                            dimensions_map={"service": outcomes.service},
                            statistic="Sum",
                            period=PERIOD,
                            label=name.removeprefix("Delivery").lower(),
                        )
                        for name in outcomes.names
                    ],
                    width=6,
                ),
            ],
            [
                _graph(
                    "Table: throttled requests (sum / 5 min)",
                    [
                        watched.table.metric(
                            name, statistic="Sum", period=PERIOD, label=name.removesuffix("Events")
                        )
                        for name in ("ReadThrottleEvents", "WriteThrottleEvents")
                    ],
                    width=12,
                ),
                _graph(
                    "Table: consumed capacity units (sum / 5 min)",
                    [
                        watched.table.metric_consumed_read_capacity_units(
                            period=PERIOD, label="read"
                        ),
                        watched.table.metric_consumed_write_capacity_units(
                            period=PERIOD, label="write"
                        ),
                    ],
                    width=12,
                ),
            ],
        ]


def _graph(
    title: str,
    left: Sequence[cloudwatch.IMetric],
    *,
    width: int,
    right: Sequence[cloudwatch.IMetric] = (),
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title, left=list(left), right=list(right), width=width, height=6
    )


def _camel(name: str) -> str:
    """ "webhook-dispatch" or "webhook_dispatch" -> "WebhookDispatch"."""
    return "".join(part.title() for part in name.replace("_", "-").split("-"))
