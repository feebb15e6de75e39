"""Runtime settings: one validated model, read from the environment once per container.

`Variables` names every environment variable the functions read; the CDK constructs set them
by these names (infra/constructs), so the stack and the code can never spell one differently.
A missing or malformed variable fails the first call to `get_settings()`, naming the
variable: there is no default table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.settings_model import Settings

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


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse `environ`; an empty variable counts as unset. Raises SettingsError naming every
    missing or malformed variable."""
    values: dict[str, str] = {
        field: environ[variable] for field, variable in VARIABLE_OF.items() if environ.get(variable)
    }
    if "region" not in values and environ.get(Variables.DEFAULT_REGION):
        values["region"] = environ[Variables.DEFAULT_REGION]
    # The model is pydantic's: loaded by the first read, not at import (cold start).
    from shared.settings_model import validate

    return validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this container, parsed on first use (handlers call it first thing, so
    a misconfigured function fails its first invocation, before doing anything)."""
    return load_settings(os.environ)
