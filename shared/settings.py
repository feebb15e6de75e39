"""Runtime settings: one validated object, read from the environment once per container.

`Variables` names every environment variable the functions read; the CDK constructs set them
by these names (infra/constructs), so the stack and the code can never spell one differently.
A missing or malformed variable fails the first call to `get_settings()`, naming the
variable: there is no default table.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_SUBSCRIPTION_LIMIT = 100
# The namespace of every custom metric: the stack (and the local stack) set it as
# POWERTOOLS_METRICS_NAMESPACE, Powertools reads it there; the dashboard reads it here.
METRICS_NAMESPACE = "Waymark"


class Variables:
    """The environment variables' names (the stack sets them; `Settings` reads them)."""

    TABLE_NAME = "TABLE_NAME"
    REGION = "AWS_REGION"  # set by Lambda itself
    DEFAULT_REGION = "AWS_DEFAULT_REGION"  # what the AWS CLI and SDKs read off Lambda
    WEBHOOK_QUEUE_URL = "WEBHOOK_QUEUE_URL"
    WEBHOOK_DEAD_LETTER_QUEUE_URL = "WEBHOOK_DEAD_LETTER_QUEUE_URL"
    WEBHOOK_BODIES_BUCKET = "WEBHOOK_BODIES_BUCKET"
    WEBHOOK_SECRETS_KEY = "WEBHOOK_SECRETS_KEY_ID"
    WEBHOOK_SUBSCRIPTION_LIMIT = "WEBHOOK_SUBSCRIPTION_LIMIT"
    TRANSFERS_BUCKET = "TRANSFERS_BUCKET"
    JOBS_QUEUE_URL = "JOBS_QUEUE_URL"
    # Read by Powertools itself; set by the stack from these names.
    SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
    METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
    LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
    # Off AWS only (the local stack and tests): endpoints of DynamoDB Local and moto.
    DYNAMODB_ENDPOINT_URL = "DYNAMODB_ENDPOINT_URL"
    SQS_ENDPOINT_URL = "SQS_ENDPOINT_URL"
    S3_ENDPOINT_URL = "S3_ENDPOINT_URL"
    KMS_ENDPOINT_URL = "KMS_ENDPOINT_URL"
    # Local development and tests only, never deployed (tests/infra pins that).
    WEBHOOKS_ALLOW_LOOPBACK = "WAYMARK_WEBHOOKS_ALLOW_LOOPBACK"
    WEBHOOK_BACKOFF_SCALE = "WEBHOOK_BACKOFF_SCALE"


LOCAL_ONLY_VARIABLES = (
    Variables.DYNAMODB_ENDPOINT_URL,
    Variables.SQS_ENDPOINT_URL,
    Variables.S3_ENDPOINT_URL,
    Variables.KMS_ENDPOINT_URL,
    Variables.WEBHOOKS_ALLOW_LOOPBACK,
    Variables.WEBHOOK_BACKOFF_SCALE,
)


class SettingsError(RuntimeError):
    """The function's environment is incomplete or malformed: a deployment mistake."""


# Field -> variable; the region alone has a fallback (Lambda sets AWS_REGION).
VARIABLE_OF = {
    "table_name": Variables.TABLE_NAME,
    "region": Variables.REGION,
    "webhook_queue_url": Variables.WEBHOOK_QUEUE_URL,
    "webhook_dead_letter_queue_url": Variables.WEBHOOK_DEAD_LETTER_QUEUE_URL,
    "webhook_bodies_bucket": Variables.WEBHOOK_BODIES_BUCKET,
    "webhook_secrets_key_id": Variables.WEBHOOK_SECRETS_KEY,
    "webhook_subscription_limit": Variables.WEBHOOK_SUBSCRIPTION_LIMIT,
    "transfers_bucket": Variables.TRANSFERS_BUCKET,
    "jobs_queue_url": Variables.JOBS_QUEUE_URL,
    "dynamodb_endpoint_url": Variables.DYNAMODB_ENDPOINT_URL,
    "sqs_endpoint_url": Variables.SQS_ENDPOINT_URL,
    "s3_endpoint_url": Variables.S3_ENDPOINT_URL,
    "kms_endpoint_url": Variables.KMS_ENDPOINT_URL,
    "webhooks_allow_loopback": Variables.WEBHOOKS_ALLOW_LOOPBACK,
    "webhook_backoff_scale": Variables.WEBHOOK_BACKOFF_SCALE,
}


@dataclass(frozen=True)
class Settings:
    """What the functions read from their environment. Optional fields are needed only by
    some functions; the code that needs one asks for it with `require`. A plain dataclass
    checked by hand: pydantic would cost every function ~0.1 s at its first request."""

    table_name: str
    region: str
    # Webhooks: the delivery queue and its dead-letter queue (SQS URLs), the S3 bucket for
    # notification bodies too large for a queue message, the KMS key of the secrets.
    webhook_queue_url: str | None = None
    webhook_dead_letter_queue_url: str | None = None
    webhook_bodies_bucket: str | None = None
    webhook_secrets_key_id: str | None = None
    # How many webhook subscriptions one environment may have.
    webhook_subscription_limit: int = DEFAULT_SUBSCRIPTION_LIMIT
    # Import and export jobs: the bucket of their files, and the queue of their steps.
    transfers_bucket: str | None = None
    jobs_queue_url: str | None = None
    # Off AWS only: the local stack's and the tests' endpoints.
    dynamodb_endpoint_url: str | None = None
    sqs_endpoint_url: str | None = None
    s3_endpoint_url: str | None = None
    kms_endpoint_url: str | None = None
    # Local development only: lets webhooks go to http:// loopback receivers ("1").
    webhooks_allow_loopback: bool = False
    # Tests only: multiplies the retry schedule and the 3-day window.
    webhook_backoff_scale: float = 1.0

    def require(self, field: str) -> str:
        """An optional setting this function cannot work without."""
        value = getattr(self, field)
        if not value:
            raise SettingsError(f"{VARIABLE_OF[field]} is not set: this function needs it.")
        return str(value)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError("must be a number above 0")
    return value


# Fields that are not text, and how their variable's text reads.
_CONVERSIONS: dict[str, Callable[[str], object]] = {
    "webhook_subscription_limit": _positive_int,
    "webhook_backoff_scale": _positive_float,
    "webhooks_allow_loopback": lambda text: text == "1",
}
_REQUIRED = ("table_name", "region")


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse `environ`; an empty variable counts as unset. Raises SettingsError naming every
    missing or malformed variable."""
    values: dict[str, object] = {
        field: environ[variable] for field, variable in VARIABLE_OF.items() if environ.get(variable)
    }
    if "region" not in values and environ.get(Variables.DEFAULT_REGION):
        values["region"] = environ[Variables.DEFAULT_REGION]
    problems = [f"{VARIABLE_OF[field]}: missing" for field in _REQUIRED if field not in values]
    for field, convert in _CONVERSIONS.items():
        if field in values:
            try:
                values[field] = convert(str(values[field]))
            except ValueError as error:
                problems.append(f"{VARIABLE_OF[field]}: {error}")
    if problems:
        raise SettingsError("Invalid function environment: " + "; ".join(problems))
    return Settings(**values)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this container, parsed on first use (handlers call it first thing, so
    a misconfigured function fails its first invocation, before doing anything)."""
    return load_settings(os.environ)
