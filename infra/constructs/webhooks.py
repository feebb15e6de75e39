"""Webhooks: table stream -> dispatch -> SQS delivery queue -> delivery -> receivers.

- Dispatch consumes the table stream through a filtered mapping (the filter the handler
  exports, so function and trigger cannot drift) with partial batch responses, bisection,
  bounded retries and an on-failure queue of its own, exactly like the cascade. It queries the
  environment's subscriptions and sends one message per (notification, subscription).
- Notification bodies too large for a queue message wait in the bodies bucket (encrypted,
  private, SSL only, expired after the delivery log's 30 days); the message carries the key.
- Delivery consumes the delivery queue ten messages at a time (posted concurrently, each cut
  at 15 s) with partial batch responses. A failed attempt postpones its own message with
  ChangeMessageVisibility (exponential backoff, at most 12 h a step) and stays in the queue;
  past the 3-day window the function parks the message on the dead-letter queue itself. The
  queue is an SQS fair queue (messages carry their environment as MessageGroupId), so one
  environment's backlog does not delay another's.
- A receiver that keeps failing gets an open circuit: its notifications wait in a backlog
  in the table, off the queue. The probe function, every minute, tries one notification per
  failing receiver on the backoff schedule and, once it answers, drains the backlog back.
- The dead-letter queue is also the delivery queue's redrive target, only as a backstop for
  crash loops (a message that kills the function before its outcome is recorded): the
  receive count that moves a message there is far above what the backoff schedule reaches.
- The webhook_subscriptions API function enqueues tests, resends and recoveries.
- Secrets are sealed under a KMS key of the stack's (shared/webhooks/sealing.py: envelope
  encryption): the API function may only generate data keys (it seals new secrets), the
  delivery and probe functions may only decrypt them (they sign). Neither the table, its
  stream nor its backups hold a secret in clear. The key is kept when a production stack is
  deleted: without it, its table's secrets never open again.

Receivers are on the public internet: no VPC (the code refuses private and metadata
addresses itself, shared/webhooks/addresses.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Acknowledgment, CfnElement, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.webhook_dispatch.handler import DISPATCH_FILTER
from infra.constructs.access import access_for
from infra.constructs.consumers import (
    consume_stream,
    encrypted_queue,
    expiring_bucket,
    stream_source,
    visibility_timeout,
)
from infra.constructs.python_function import FunctionSettings, PythonFunction
from infra.constructs.table import TableConstruct
from infra.routes import FunctionRoute
from shared.settings import METRICS_NAMESPACE, Variables

WEBHOOK_DISPATCH = FunctionRoute(
    name="webhook_dispatch", handler="functions.webhook_dispatch.handler.lambda_handler", paths=()
)
WEBHOOK_DELIVERY = FunctionRoute(
    name="webhook_delivery", handler="functions.webhook_delivery.handler.lambda_handler", paths=()
)
WEBHOOK_PROBE = FunctionRoute(
    name="webhook_probe", handler="functions.webhook_probe.handler.lambda_handler", paths=()
)

# Environment variables read by shared/settings.py, by the names it defines.
QUEUE_URL_VARIABLE = Variables.WEBHOOK_QUEUE_URL
DEAD_LETTER_QUEUE_URL_VARIABLE = Variables.WEBHOOK_DEAD_LETTER_QUEUE_URL
BODIES_BUCKET_VARIABLE = Variables.WEBHOOK_BODIES_BUCKET
SECRETS_KEY_VARIABLE = Variables.WEBHOOK_SECRETS_KEY
# Where shared/webhooks/bodies.py writes: the only prefix any function may touch.
BODIES_PREFIX = "notifications/"


@dataclass(frozen=True)
class DeliveryOutcomes:
    """The custom metrics functions/webhook_delivery/handler.py emits, one per message.

    Powertools Metrics adds the `service` dimension; the names are `Delivery<Result>` with the
    result `deliver()` returns ("succeeded", "dead", "skipped") and DeliveryFailed for a retry.
    tests/infra/test_webhooks.py runs the handler to check these against what it emits.
    """

    namespace: str = METRICS_NAMESPACE
    service: str = WEBHOOK_DELIVERY.name
    succeeded: str = "DeliverySucceeded"
    # A failed attempt (retried later) and a message given up on (parked).
    failed: tuple[str, ...] = ("DeliveryFailed", "DeliveryDead")
    # No attempt on the shared path (deleted or disabled subscriptions), or a notification
    # moved to a failing receiver's backlog.
    graphed: tuple[str, ...] = ("DeliverySkipped", "DeliveryBacklogged")

    @property
    def all(self) -> tuple[str, ...]:
        return (self.succeeded, *self.failed, *self.graphed)


DELIVERY_OUTCOMES = DeliveryOutcomes()

# The only SQS action the code calls to enqueue (SendMessageBatch is authorized as SendMessage).
SEND = "sqs:SendMessage"


@dataclass(frozen=True)
class WebhookSettings:
    # Dispatch: a record becomes a few messages (one Query per environment, cached 10 s, and
    # SendMessageBatch calls), so a batch of 100 is a couple of seconds of work.
    dispatch_batch_size: int = 100
    dispatch_batching_window: Duration = field(default_factory=lambda: Duration.seconds(1))
    dispatch_timeout: Duration = field(default_factory=lambda: Duration.seconds(60))
    # Failures are transient (SQS or DynamoDB throttling): retry generously, but park a record
    # while it is still readable (the stream keeps 24 h) and notifications are still fresh.
    dispatch_retry_attempts: int = 10
    dispatch_max_record_age: Duration = field(default_factory=lambda: Duration.hours(6))
    # Delivery: 10 messages posted concurrently, each cut at 15 s, plus DynamoDB and SQS calls.
    delivery_timeout: Duration = field(default_factory=lambda: Duration.seconds(60))
    delivery_batch_size: int = 10
    # Caps concurrent deliveries at 50 x 10 = 500 requests in flight (and the account share).
    # A receiver that starts hanging holds the invocations it is in for 15 s; its circuit opens
    # once two attempts are unanswered after two seconds, so that is about two seconds of its
    # messages: the headroom keeps healthy deliveries flowing meanwhile.
    delivery_max_concurrency: int = 50
    # Probing: EventBridge's finest rate. A run probes at most 100 receivers, 10 at a time,
    # each cut at 15 s, and drains backlogs within a budget: well inside its timeout.
    probe_rate: Duration = field(default_factory=lambda: Duration.minutes(1))
    probe_timeout: Duration = field(default_factory=lambda: Duration.minutes(5))
    # Bodies are needed as long as the delivery log that points at them (30 days), plus slack.
    bodies_expiration: Duration = field(default_factory=lambda: Duration.days(35))
    # The 3-day retry window plus one 12 h postponement, rounded up.
    queue_retention: Duration = field(default_factory=lambda: Duration.days(4))
    # Backstop for crash loops only: the backoff schedule makes ~20 attempts in 3 days.
    max_receive_count: int = 50
    dead_letter_retention: Duration = field(default_factory=lambda: Duration.days(14))

    @property
    def queue_visibility_timeout(self) -> Duration:
        return visibility_timeout(self.delivery_timeout)


class WebhooksConstruct(Construct):
    """The delivery queue and its DLQ, the dispatch and delivery functions, their triggers."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: TableConstruct,
        subscriptions_function: PythonFunction,
        removal_policy: RemovalPolicy,
        settings: WebhookSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or WebhookSettings()
        self.settings = settings
        table_name = table.table.table_name

        self.dead_letter_queue = encrypted_queue(
            self,
            "DeadLetters",
            retention=settings.dead_letter_retention,
            removal_policy=removal_policy,
        )
        self.queue = encrypted_queue(
            self,
            "DeliveryQueue",
            retention=settings.queue_retention,
            removal_policy=removal_policy,
            visibility_timeout=settings.queue_visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=settings.max_receive_count
            ),
        )
        self.dispatch_failures = encrypted_queue(
            self,
            "DispatchFailures",
            retention=settings.dead_letter_retention,
            removal_policy=removal_policy,
        )
        self.bodies = expiring_bucket(
            self,
            "Bodies",
            rule=s3.LifecycleRule(
                id="expire-notification-bodies", expiration=settings.bodies_expiration
            ),
        )
        self.secrets_key = kms.Key(
            self,
            "SecretsKey",
            description="Waymark: seals webhook signing secrets (envelope encryption)",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        bodies_environment = {BODIES_BUCKET_VARIABLE: self.bodies.bucket_name}
        # Delivery and the probe both deliver: the queue, where they park, and the bodies;
        # they sign, so they open secrets.
        delivering_environment = {
            QUEUE_URL_VARIABLE: self.queue.queue_url,
            DEAD_LETTER_QUEUE_URL_VARIABLE: self.dead_letter_queue.queue_url,
            SECRETS_KEY_VARIABLE: self.secrets_key.key_arn,
            **bodies_environment,
        }

        # Dispatch.
        self.dispatch = PythonFunction(
            self,
            "Dispatch",
            route=WEBHOOK_DISPATCH,
            table_name=table_name,
            removal_policy=removal_policy,
            settings=FunctionSettings(
                timeout=settings.dispatch_timeout,
                environment={QUEUE_URL_VARIABLE: self.queue.queue_url, **bodies_environment},
            ),
        )
        table.grant(self.dispatch.role, access_for(WEBHOOK_DISPATCH.name))
        self._grant(self.dispatch.role, [SEND], self.queue)
        self._grant_bodies(self.dispatch.role, "s3:PutObject")
        # Re-reading a record (TRIM_HORIZON, retries) is harmless: its notification ids derive
        # from the stream record, so receivers de-duplicate a replay.
        self.dispatch_source = stream_source(
            table.table,
            record_filter=DISPATCH_FILTER,
            failures=self.dispatch_failures,
            batch_size=settings.dispatch_batch_size,
            max_batching_window=settings.dispatch_batching_window,
            retry_attempts=settings.dispatch_retry_attempts,
            max_record_age=settings.dispatch_max_record_age,
        )
        consume_stream(self.dispatch.function, self.dispatch_source)

        # Delivery.
        self.delivery = PythonFunction(
            self,
            "Delivery",
            route=WEBHOOK_DELIVERY,
            table_name=table_name,
            removal_policy=removal_policy,
            settings=FunctionSettings(
                timeout=settings.delivery_timeout,
                environment=delivering_environment,
            ),
        )
        table.grant(self.delivery.role, access_for(WEBHOOK_DELIVERY.name))
        self._grant_bodies(self.delivery.role, "s3:GetObject")
        self.secrets_key.grant(self.delivery.role, "kms:Decrypt")
        # The event source mapping grants what it needs on the queue (ReceiveMessage,
        # DeleteMessage, ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl); the code's
        # own postponement is ChangeMessageVisibility, already among them.
        self.delivery_source = sources.SqsEventSource(
            self.queue,
            batch_size=settings.delivery_batch_size,
            report_batch_item_failures=True,
            max_concurrency=settings.delivery_max_concurrency,
        )
        self.delivery.function.add_event_source(self.delivery_source)
        self._grant(self.delivery.role, [SEND], self.dead_letter_queue)

        # Probe: failing receivers, one request at a time each; drains backlogs to the queue.
        self.probe = PythonFunction(
            self,
            "Probe",
            route=WEBHOOK_PROBE,
            table_name=table_name,
            removal_policy=removal_policy,
            settings=FunctionSettings(
                timeout=settings.probe_timeout,
                environment=delivering_environment,
            ),
        )
        table.grant(self.probe.role, access_for(WEBHOOK_PROBE.name))
        self._grant(self.probe.role, [SEND], self.queue)
        self._grant(self.probe.role, [SEND], self.dead_letter_queue)
        self._grant_bodies(self.probe.role, "s3:GetObject")
        self.secrets_key.grant(self.probe.role, "kms:Decrypt")
        self.probe_schedule = events.Rule(
            self,
            "ProbeSchedule",
            schedule=events.Schedule.rate(settings.probe_rate),
            targets=[targets.LambdaFunction(self.probe.function, retry_attempts=0)],
        )

        # The API: test notifications, resends and recoveries are enqueued; a delivery's large
        # notification is read back to show it.
        subscriptions_function.function.add_environment(QUEUE_URL_VARIABLE, self.queue.queue_url)
        subscriptions_function.function.add_environment(
            BODIES_BUCKET_VARIABLE, self.bodies.bucket_name
        )
        # New and rotated secrets are sealed under a fresh data key; the API never decrypts.
        subscriptions_function.function.add_environment(
            SECRETS_KEY_VARIABLE, self.secrets_key.key_arn
        )
        self.secrets_key.grant(subscriptions_function.role, "kms:GenerateDataKey")
        self._grant(subscriptions_function.role, [SEND], self.queue)
        self._grant_bodies(subscriptions_function.role, "s3:GetObject")
        self._acknowledge()

    @staticmethod
    def _grant(grantee: iam.IGrantable, actions: list[str], queue: sqs.IQueue) -> None:
        """Exactly `actions` on one queue (grant_send_messages would add GetQueue*)."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=actions, resource_arns=[queue.queue_arn]
        )

    def _grant_bodies(self, role: iam.IRole, action: str) -> None:
        """One S3 action, on the notification bodies only."""
        iam.Grant.add_to_principal(
            grantee=role,
            actions=[action],
            resource_arns=[self.bodies.arn_for_objects(f"{BODIES_PREFIX}*")],
        )
        stack = Stack.of(self)
        bucket = self.bodies.node.default_child
        assert isinstance(bucket, CfnElement)
        logical_id = stack.resolve(stack.get_logical_id(bucket))
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{BODIES_PREFIX}*]",
                reason=(
                    "Object keys are notification ids, unknown until a notification exists: "
                    "the grant is one action on one prefix of the stack's own bodies bucket."
                ),
            )
        )

    @property
    def functions(self) -> tuple[PythonFunction, PythonFunction, PythonFunction]:
        return (self.dispatch, self.delivery, self.probe)

    def _acknowledge(self) -> None:
        Validations.of(self.bodies).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason=(
                    "The bucket holds webhook notification bodies that the stack's own "
                    "functions write and read under their roles (one prefix, one action each); "
                    "no person or other service reads it. Server access logs would need a "
                    "second bucket to record only those calls, which CloudTrail data events "
                    "cover when an account wants them."
                ),
            )
        )
        Validations.of(self.dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason=(
                    "This queue is itself the dead-letter queue of the webhook delivery queue "
                    "(redrive backstop) and where the delivery function parks messages whose "
                    "3-day retry window ended. Nothing consumes it automatically (an operator "
                    "inspects and resends through the API), so a DLQ behind it would never "
                    "receive a message."
                ),
            )
        )
        Validations.of(self.dispatch_failures).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason=(
                    "This queue is itself the dead-letter destination: the dispatch stream "
                    "mapping's on-failure target for records that failed every retry. Nothing "
                    "consumes it automatically (an operator inspects and replays), so a DLQ "
                    "behind it would never receive a message."
                ),
            )
        )
