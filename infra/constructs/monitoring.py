"""Dashboards and alarms for operators (cdk-monitoring-constructs); alarms notify one topic.

What is watched: the API (5xx, 4xx rate, latency), every function (errors, throttles,
latency against its timeout), the cascade's stream (iterator age) and its dead-letter queue
(any message is an alarm), and the table (system errors, throttling). Subscribe the topic
(e-mail, chat, paging) per deployment; the stack only creates it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cdk_monitoring_constructs as mc
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
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


@dataclass(frozen=True)
class MonitoredFunction:
    """A function to watch; `stream` marks a stream consumer (iterator age alarm)."""

    name: str
    function: lambda_.Function
    timeout: Duration
    stream: bool = False


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
