"""Webhooks: table stream -> dispatch -> SQS delivery queue -> delivery -> receivers.

- Dispatch consumes the table stream through a filtered mapping (the filter the handler
  exports, so function and trigger cannot drift) with partial batch responses, bisection,
  bounded retries and an on-failure queue of its own, exactly like the cascade. It queries the
  environment's subscriptions and sends one message per (notification, subscription).
- Delivery consumes the delivery queue ten messages at a time (posted concurrently, each cut
  at 15 s) with partial batch responses. A failed attempt postpones its own message with
  ChangeMessageVisibility (exponential backoff, at most 12 h a step) and stays in the queue;
  past the 3-day window the function parks the message on the dead-letter queue itself.
- The dead-letter queue is also the delivery queue's redrive target, only as a backstop for
  crash loops (a message that kills the function before its outcome is recorded): the
  receive count that moves a message there is far above what the backoff schedule reaches.
- The webhook_subscriptions API function enqueues tests, resends and recoveries.

Receivers are on the public internet: no VPC (the code refuses private and metadata
addresses itself, shared/webhooks/addresses.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.webhook_dispatch.handler import DISPATCH_FILTER
from infra.constructs.access import access_for
from infra.constructs.consumers import encrypted_queue, stream_source
from infra.constructs.python_function import FunctionSettings, PythonFunction
from infra.constructs.table import TableConstruct
from infra.routes import FunctionRoute

WEBHOOK_DISPATCH = FunctionRoute(
    name="webhook_dispatch", handler="functions.webhook_dispatch.handler.lambda_handler", paths=()
)
WEBHOOK_DELIVERY = FunctionRoute(
    name="webhook_delivery", handler="functions.webhook_delivery.handler.lambda_handler", paths=()
)

# Environment variables read by shared/settings.py.
QUEUE_URL_VARIABLE = "WEBHOOK_QUEUE_URL"
DEAD_LETTER_QUEUE_URL_VARIABLE = "WEBHOOK_DEAD_LETTER_QUEUE_URL"
# Read by shared/settings.py too, but for tests and local development only: never deployed.
LOCAL_ONLY_VARIABLES = ("WEBHOOK_BACKOFF_SCALE", "WAYMARK_WEBHOOKS_ALLOW_LOOPBACK")


@dataclass(frozen=True)
class DeliveryOutcomes:
    """The custom metrics functions/webhook_delivery/handler.py emits, one per message.

    Powertools Metrics adds the `service` dimension; the names are `Delivery<Result>` with the
    result `deliver()` returns ("succeeded", "dead", "skipped") and DeliveryFailed for a retry.
    tests/infra/test_webhooks.py runs the handler to check these against what it emits.
    """

    namespace: str = "Waymark"
    service: str = WEBHOOK_DELIVERY.name
    succeeded: str = "DeliverySucceeded"
    # A failed attempt (retried later) and a message given up on (parked) both count against.
    failed: tuple[str, ...] = ("DeliveryFailed", "DeliveryDead")
    # Deleted or disabled subscriptions: no attempt was made.
    graphed: tuple[str, ...] = ("DeliverySkipped",)


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
    # Caps concurrent deliveries at 20 x 10 = 200 requests in flight (and the account share).
    delivery_max_concurrency: int = 20
    # The 3-day retry window plus one 12 h postponement, rounded up.
    queue_retention: Duration = field(default_factory=lambda: Duration.days(4))
    # Backstop for crash loops only: the backoff schedule makes ~20 attempts in 3 days.
    max_receive_count: int = 50
    dead_letter_retention: Duration = field(default_factory=lambda: Duration.days(14))

    @property
    def queue_visibility_timeout(self) -> Duration:
        """AWS's advice for a Lambda-consumed queue: at least 6 x the function's timeout."""
        return Duration.seconds(6 * int(self.delivery_timeout.to_seconds()))


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

        # Dispatch.
        self.dispatch = PythonFunction(
            self,
            "Dispatch",
            route=WEBHOOK_DISPATCH,
            table_name=table_name,
            removal_policy=removal_policy,
            settings=FunctionSettings(
                timeout=settings.dispatch_timeout,
                environment={QUEUE_URL_VARIABLE: self.queue.queue_url},
            ),
        )
        table.grant(self.dispatch.role, access_for(WEBHOOK_DISPATCH.name))
        self._grant(self.dispatch.role, [SEND], self.queue)
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
        self.dispatch.function.add_event_source(self.dispatch_source)

        # Delivery.
        self.delivery = PythonFunction(
            self,
            "Delivery",
            route=WEBHOOK_DELIVERY,
            table_name=table_name,
            removal_policy=removal_policy,
            settings=FunctionSettings(
                timeout=settings.delivery_timeout,
                environment={
                    QUEUE_URL_VARIABLE: self.queue.queue_url,
                    DEAD_LETTER_QUEUE_URL_VARIABLE: self.dead_letter_queue.queue_url,
                },
            ),
        )
        table.grant(self.delivery.role, access_for(WEBHOOK_DELIVERY.name))
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

        # The API: test notifications, resends and recoveries are enqueued.
        subscriptions_function.function.add_environment(QUEUE_URL_VARIABLE, self.queue.queue_url)
        self._grant(subscriptions_function.role, [SEND], self.queue)
        self._acknowledge()

    @staticmethod
    def _grant(grantee: iam.IGrantable, actions: list[str], queue: sqs.IQueue) -> None:
        """Exactly `actions` on one queue (grant_send_messages would add GetQueue*)."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=actions, resource_arns=[queue.queue_arn]
        )

    @property
    def functions(self) -> tuple[PythonFunction, PythonFunction]:
        return (self.dispatch, self.delivery)

    def _acknowledge(self) -> None:
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
