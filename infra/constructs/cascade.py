"""Cascading deletes: the table stream -> the cascade function, failures -> an SQS DLQ.

The stream mapping sends only purge-job inserts (the filter the handler exports, so the
function and its trigger cannot drift), reports per-record failures (Powertools
`process_partial_response`), splits a failing batch to isolate the bad record, retries a
bounded number of times, and parks what still fails (the record's metadata, not its data)
on a queue an operator can inspect: a purge job is idempotent, so it can be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from constructs import Construct

from functions.cascade.handler import PURGE_FILTER
from infra.constructs.access import access_for
from infra.constructs.consumers import consume_stream, encrypted_queue, stream_source
from infra.constructs.python_function import FunctionSettings, PythonFunction
from infra.constructs.table import TableConstruct
from infra.routes import FunctionRoute

CASCADE = FunctionRoute(
    name="cascade", handler="functions.cascade.handler.lambda_handler", paths=()
)


@dataclass(frozen=True)
class CascadeSettings:
    """How the stream is consumed. A purge may delete thousands of items: small batches."""

    batch_size: int = 10
    max_batching_window: Duration = field(default_factory=lambda: Duration.seconds(1))
    retry_attempts: int = 5
    # Stream records live 24 h; give up earlier so the DLQ gets them while they are readable.
    max_record_age: Duration = field(default_factory=lambda: Duration.hours(6))
    timeout: Duration = field(default_factory=lambda: Duration.minutes(5))
    dlq_retention: Duration = field(default_factory=lambda: Duration.days(14))


class CascadeConstruct(Construct):
    """The cascade function, its stream event source mapping and its on-failure queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: TableConstruct,
        removal_policy: RemovalPolicy,
        settings: CascadeSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or CascadeSettings()

        self.dead_letter_queue = encrypted_queue(
            self,
            "FailedRecords",
            retention=settings.dlq_retention,
            removal_policy=removal_policy,
        )
        self.function = PythonFunction(
            self,
            "Function",
            route=CASCADE,
            table_name=table.table.table_name,
            removal_policy=removal_policy,
            settings=FunctionSettings(timeout=settings.timeout),
        )
        table.grant(self.function.role, access_for(CASCADE.name))
        self.event_source = stream_source(
            table.table,
            record_filter=PURGE_FILTER,
            failures=self.dead_letter_queue,
            batch_size=settings.batch_size,
            max_batching_window=settings.max_batching_window,
            retry_attempts=settings.retry_attempts,
            max_record_age=settings.max_record_age,
        )
        consume_stream(self.function.function, self.event_source)
        self._acknowledge()

    def _acknowledge(self) -> None:
        Validations.of(self.dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason=(
                    "This queue is itself the dead-letter destination: the stream mapping's "
                    "on-failure target for records that failed every retry. Nothing consumes it "
                    "automatically (an operator inspects and replays), so a DLQ behind it would "
                    "never receive a message."
                ),
            )
        )
