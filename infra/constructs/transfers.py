"""Import and export jobs: the transfers bucket, the jobs queue and the function running steps.

- The bucket holds imports' uploads (`imports/`, written by clients through presigned URLs
  the transfers API function signs) and exports' files (`exports/`, read through presigned
  URLs): encrypted, private, SSL only, everything expired after the jobs' 7 days, unfinished
  multipart uploads aborted after 2.
- The jobs queue carries one message per step of a job: the API queues a job's first step,
  each step the next. The transfer_jobs function takes one message at a time (a step is up to
  minutes of work), reports a failed one, and the queue retries it; after MAX_RECEIVES the
  function marks the job failed (and the message goes to the dead-letter queue).

A queue rather than the table stream (as the cascade uses): a step names its job and its
number, gets retries, a dead-letter queue and a visibility timeout as its lease, and a job's
progress writes (one per chunk) wake nothing. Starting an import is an API call after the
upload rather than an S3 notification: the API checks the file is there and within the size
limit before queueing, and no notification custom resource (a Lambda of the CDK's own) joins
the stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Acknowledgment, CfnElement, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.transfer_jobs.handler import MAX_RECEIVES
from infra.constructs.access import access_for
from infra.constructs.consumers import encrypted_queue, expiring_bucket, visibility_timeout
from infra.constructs.python_function import FunctionSettings, PythonFunction
from infra.constructs.table import TableConstruct
from infra.routes import FunctionRoute
from shared.settings import Variables

TRANSFER_JOBS = FunctionRoute(
    name="transfer_jobs", handler="functions.transfer_jobs.handler.lambda_handler", paths=()
)

# Environment variables read by shared/settings.py.
BUCKET_VARIABLE = Variables.TRANSFERS_BUCKET
QUEUE_URL_VARIABLE = Variables.JOBS_QUEUE_URL
# Where shared/transfers/files.py writes: imports' uploads and exports' files.
IMPORTS_PREFIX = "imports/"
EXPORTS_PREFIX = "exports/"
SEND = "sqs:SendMessage"


@dataclass(frozen=True)
class TransferSettings:
    # A step runs chunks while a minute is left: most of this is work.
    timeout: Duration = field(default_factory=lambda: Duration.minutes(5))
    memory_size: int = 1024
    # Jobs at once, each one step at a time: bounded, so one environment's big import does
    # not take all of the table's throughput for long.
    max_concurrency: int = 10
    files_expiration: Duration = field(default_factory=lambda: Duration.days(7))
    abort_uploads_after: Duration = field(default_factory=lambda: Duration.days(2))
    queue_retention: Duration = field(default_factory=lambda: Duration.days(4))
    dead_letter_retention: Duration = field(default_factory=lambda: Duration.days(14))

    @property
    def visibility_timeout(self) -> Duration:
        return visibility_timeout(self.timeout)


class TransfersConstruct(Construct):
    """The transfers bucket, the jobs queue and its DLQ, the step function and its trigger."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: TableConstruct,
        api_function: PythonFunction,
        removal_policy: RemovalPolicy,
        settings: TransferSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or TransferSettings()
        self.settings = settings

        self.bucket = expiring_bucket(
            self,
            "Files",
            rule=s3.LifecycleRule(
                id="expire-job-files",
                expiration=settings.files_expiration,
                abort_incomplete_multipart_upload_after=settings.abort_uploads_after,
            ),
        )
        self.dead_letter_queue = encrypted_queue(
            self,
            "DeadLetters",
            retention=settings.dead_letter_retention,
            removal_policy=removal_policy,
        )
        self.queue = encrypted_queue(
            self,
            "Steps",
            retention=settings.queue_retention,
            removal_policy=removal_policy,
            visibility_timeout=settings.visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVES
            ),
        )
        environment = {
            BUCKET_VARIABLE: self.bucket.bucket_name,
            QUEUE_URL_VARIABLE: self.queue.queue_url,
        }

        self.function = PythonFunction(
            self,
            "StepsFunction",
            route=TRANSFER_JOBS,
            table_name=table.table.table_name,
            removal_policy=removal_policy,
            settings=FunctionSettings(
                timeout=settings.timeout,
                memory_size=settings.memory_size,
                environment=environment,
            ),
        )
        table.grant(self.function.role, access_for(TRANSFER_JOBS.name))
        self._grant_queue(self.function.role)
        self._grant_files(self.function.role, ["s3:GetObject"], IMPORTS_PREFIX)
        self._grant_files(
            self.function.role,
            ["s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts"],
            EXPORTS_PREFIX,
        )
        self.event_source = sources.SqsEventSource(
            self.queue,
            batch_size=1,
            report_batch_item_failures=True,
            max_concurrency=settings.max_concurrency,
        )
        self.function.function.add_event_source(self.event_source)

        # The API: signs uploads (PutObject) and downloads (GetObject), checks an upload
        # (HeadObject is GetObject), queues first steps.
        for name, value in environment.items():
            api_function.function.add_environment(name, value)
        self._grant_queue(api_function.role)
        self._grant_files(api_function.role, ["s3:GetObject", "s3:PutObject"], IMPORTS_PREFIX)
        self._grant_files(api_function.role, ["s3:GetObject"], EXPORTS_PREFIX)
        self._acknowledge()

    def _grant_queue(self, role: iam.IRole) -> None:
        iam.Grant.add_to_principal(
            grantee=role, actions=[SEND], resource_arns=[self.queue.queue_arn]
        )

    def _grant_files(self, role: iam.IRole, actions: list[str], prefix: str) -> None:
        """`actions` on one prefix of the bucket only."""
        iam.Grant.add_to_principal(
            grantee=role, actions=actions, resource_arns=[self.bucket.arn_for_objects(f"{prefix}*")]
        )
        stack = Stack.of(self)
        bucket = self.bucket.node.default_child
        assert isinstance(bucket, CfnElement)
        logical_id = stack.resolve(stack.get_logical_id(bucket))
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/{prefix}*]",
                reason=(
                    "Object keys hold the environment and job ids, unknown until a job exists: "
                    "the grant is named actions on one prefix of the stack's own transfers "
                    "bucket."
                ),
            )
        )

    def _acknowledge(self) -> None:
        Validations.of(self.bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason=(
                    "The bucket holds import and export files that expire after 7 days; they "
                    "are written and read only through the stack's roles and URLs those roles "
                    "sign for one object and one hour. Server access logs would need a second "
                    "bucket; CloudTrail data events cover an account that wants them."
                ),
            )
        )
        Validations.of(self.dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason=(
                    "This queue is itself the dead-letter queue of the jobs queue: steps that "
                    "failed every receive (their jobs are marked failed). Nothing consumes it "
                    "automatically, so a DLQ behind it would never receive a message."
                ),
            )
        )
