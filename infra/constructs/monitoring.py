"""Dashboards and alarms for operators (cdk-monitoring-constructs); alarms notify one topic.

What is watched: the API (5xx, 4xx rate, latency), every function (errors, throttles,
latency against its timeout), the stream consumers (iterator age), work queues (age of the
oldest message) and dead-letter queues (any message is an alarm), success rates computed from
the functions' own metrics (webhook deliveries), and the table (system errors, throttling).
Subscribe the topic (e-mail, chat, paging) per deployment; the stack only creates it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cdk_monitoring_constructs as mc
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# Alarm severities, as the keys of cdk-monitoring-constructs' threshold maps.
CRITICAL = "Critical"
WARNING = "Warning"


@dataclass(frozen=True)
class MonitoringSettings:
    api_5xx_count: int = 5  # per 5-minute period
    api_4xx_rate: float = 0.5  # of all requests: clients this broken are worth a look
    api_p90_latency: Duration = field(default_factory=lambda: Duration.seconds(1))
    function_error_count: int = 5
    function_throttle_count: int = 1
    # Latency alarm at this share of the function's timeout (p99), before timeouts start.
    function_timeout_share: float = 0.8
    stream_iterator_age: Duration = field(default_factory=lambda: Duration.minutes(15))
    success_rate_period: Duration = field(default_factory=lambda: Duration.minutes(15))


@dataclass(frozen=True)
class MonitoredFunction:
    """A function to watch; `stream` marks a stream consumer (iterator age alarm)."""

    name: str
    function: lambda_.Function
    timeout: Duration
    stream: bool = False


@dataclass(frozen=True)
class MonitoredQueue:
    """A work queue and its dead-letter queue.

    The work queue alarms when its oldest message is older than `max_message_age` (consumers
    stuck or far behind); the dead-letter queue alarms on any message, at `dead_letter_severity`.
    """

    name: str
    queue: sqs.IQueue
    dead_letter_queue: sqs.IQueue
    max_message_age: Duration
    dead_letter_severity: str = CRITICAL


@dataclass(frozen=True)
class SuccessRate:
    """A success rate (%) from custom metrics (Powertools: namespace, `service` dimension).

    rate = 100 * succeeded / (succeeded + sum(failed)), only for periods with at least
    `min_samples` outcomes (a single failure in a quiet period is not a rate); it alarms below
    `min_rate`. Outcomes that are neither (e.g. skipped) stay out of both sides.
    """

    name: str
    namespace: str
    service: str
    succeeded: str
    failed: tuple[str, ...]
    min_rate: float
    min_samples: int = 10
    severity: str = WARNING
    # Outcomes only graphed (not part of the rate), e.g. deliveries skipped.
    graphed: tuple[str, ...] = ()

    def metrics(self, period: Duration) -> dict[str, cloudwatch.Metric]:
        """Expression id -> metric: "ok" for successes, "fail<i>" for each failure metric."""
        names = {"ok": self.succeeded} | {f"fail{i}": n for i, n in enumerate(self.failed)}
        return self._metrics(names, period)

    def graphed_metrics(self, period: Duration) -> list[cloudwatch.Metric]:
        """Every outcome, for the dashboard: the rate's own and the `graphed` ones."""
        others = {f"other{i}": name for i, name in enumerate(self.graphed)}
        return [*self.metrics(period).values(), *self._metrics(others, period).values()]

    def _metrics(self, names: Mapping[str, str], period: Duration) -> dict[str, cloudwatch.Metric]:
        return {
            metric_id: cloudwatch.Metric(
                namespace=self.namespace,
                metric_name=name,
                dimensions_map={"service": self.service},
                statistic="Sum",
                period=period,
            )
            for metric_id, name in names.items()
        }

    def expression(self, period: Duration) -> cloudwatch.MathExpression:
        filled = {metric_id: f"FILL({metric_id}, 0)" for metric_id in self.metrics(period)}
        outcomes = "(" + " + ".join(filled.values()) + ")"
        return cloudwatch.MathExpression(
            expression=(f"IF({outcomes} >= {self.min_samples}, 100 * {filled['ok']} / {outcomes})"),
            using_metrics=dict(self.metrics(period)),
            label=f"{self.name} success rate (%)",
            period=period,
        )


class MonitoringConstruct(Construct):
    """One facade: a detail dashboard, a summary dashboard, an alarm dashboard, the alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        api: apigw.RestApi,
        functions: Sequence[MonitoredFunction],
        table: dynamodb.Table,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        removal_policy: RemovalPolicy,
        queues: Sequence[MonitoredQueue] = (),
        success_rates: Sequence[SuccessRate] = (),
        settings: MonitoringSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or MonitoringSettings()
        prefix = f"waymark-{stage}"

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
        self.facade = mc.MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=mc.AlarmFactoryDefaults(
                alarm_name_prefix=prefix,
                actions_enabled=True,
                action=mc.SnsAlarmActionStrategy(on_alarm_topic=self.alarm_topic),
                datapoints_to_alarm=2,
                evaluation_periods=3,
            ),
            metric_factory_defaults=mc.MetricFactoryDefaults(namespace="Waymark"),
            dashboard_factory=mc.DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=prefix,
                create_dashboard=True,
                create_summary_dashboard=True,
                create_alarm_dashboard=True,
            ),
        )

        self.facade.add_large_header(f"Waymark ({stage})")
        self.facade.monitor_api_gateway(
            api=api,
            api_stage=api.deployment_stage.stage_name,
            human_readable_name="API",
            alarm_friendly_name="Api",
            add5_xx_fault_count_alarm={
                CRITICAL: mc.ErrorCountThreshold(max_error_count=settings.api_5xx_count)
            },
            add4_xx_error_rate_alarm={
                WARNING: mc.ErrorRateThreshold(max_error_rate=settings.api_4xx_rate)
            },
            add_latency_p90_alarm={
                WARNING: mc.LatencyThreshold(max_latency=settings.api_p90_latency)
            },
        )
        for watched in functions:
            self._monitor_function(watched, settings)
        for name, queue in dead_letter_queues.items():
            self.facade.monitor_sqs_queue(
                queue=queue,
                human_readable_name=f"Dead letters: {name}",
                alarm_friendly_name=f"Dlq-{name}",
                add_queue_max_size_alarm={
                    # Any message is a record that failed every retry: an operator looks.
                    CRITICAL: mc.MaxMessageCountThreshold(max_message_count=0)
                },
            )
        for watched_queue in queues:
            self._monitor_queue(watched_queue)
        for rate in success_rates:
            self._monitor_success_rate(rate, settings)
        self.facade.monitor_dynamo_table(
            table=table,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            human_readable_name="Table",
            alarm_friendly_name="Table",
            add_system_error_count_alarm={
                CRITICAL: mc.ErrorCountThreshold(max_error_count=settings.function_error_count)
            },
            add_read_throttled_events_count_alarm={
                WARNING: mc.ThrottledEventsThreshold(max_throttled_events_threshold=10)
            },
            add_write_throttled_events_count_alarm={
                WARNING: mc.ThrottledEventsThreshold(max_throttled_events_threshold=10)
            },
        )

    def _monitor_function(self, watched: MonitoredFunction, settings: MonitoringSettings) -> None:
        slow = Duration.millis(
            int(watched.timeout.to_milliseconds() * settings.function_timeout_share)
        )
        iterator_alarm = (
            {
                CRITICAL: mc.MaxAgeThreshold(
                    max_age_in_millis=settings.stream_iterator_age.to_milliseconds()
                )
            }
            if watched.stream
            else None
        )
        self.facade.monitor_lambda_function(
            lambda_function=watched.function,
            human_readable_name=f"Function {watched.name}",
            alarm_friendly_name=f"Function-{watched.name}",
            is_iterator=watched.stream,
            add_fault_count_alarm={
                CRITICAL: mc.ErrorCountThreshold(max_error_count=settings.function_error_count)
            },
            add_throttles_count_alarm={
                WARNING: mc.ErrorCountThreshold(max_error_count=settings.function_throttle_count)
            },
            add_latency_p99_alarm={WARNING: mc.LatencyThreshold(max_latency=slow)},
            add_max_iterator_age_alarm=iterator_alarm,
        )

    def _monitor_queue(self, watched: MonitoredQueue) -> None:
        self.facade.monitor_sqs_queue_with_dlq(
            queue=watched.queue,
            dead_letter_queue=watched.dead_letter_queue,
            human_readable_name=f"Queue: {watched.name}",
            alarm_friendly_name=f"Queue-{watched.name}",
            add_queue_max_message_age_alarm={
                WARNING: mc.MaxMessageAgeThreshold(
                    max_age_in_seconds=int(watched.max_message_age.to_seconds())
                )
            },
            add_dead_letter_queue_max_size_alarm={
                watched.dead_letter_severity: mc.MaxMessageCountThreshold(max_message_count=0)
            },
        )

    def _monitor_success_rate(self, rate: SuccessRate, settings: MonitoringSettings) -> None:
        self.facade.monitor_custom(
            human_readable_name=f"{rate.name} success rate",
            alarm_friendly_name=f"SuccessRate-{rate.name}",
            metric_groups=[
                mc.CustomMetricGroup(
                    title=f"{rate.name}: success rate (%)",
                    metrics=[
                        mc.CustomMetricWithAlarm(
                            metric=rate.expression(settings.success_rate_period),
                            alarm_friendly_name=f"SuccessRate-{rate.name}",
                            add_alarm={
                                rate.severity: mc.CustomThreshold(
                                    threshold=rate.min_rate,
                                    comparison_operator=(
                                        cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
                                    ),
                                    # No outcomes (or too few) is no news, not a bad rate.
                                    treat_missing_data_override=(
                                        cloudwatch.TreatMissingData.NOT_BREACHING
                                    ),
                                )
                            },
                        )
                    ],
                ),
                mc.CustomMetricGroup(
                    title=f"{rate.name}: outcomes",
                    metrics=list(rate.graphed_metrics(settings.success_rate_period)),
                ),
            ],
        )
