"""The settings' validated model (pydantic), apart from shared/settings.py so that importing
the variables' names and `get_settings` loads no pydantic: the model is built by the first
`get_settings()`, at the first request, not at import (cold start)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.settings import DEFAULT_SUBSCRIPTION_LIMIT, VARIABLE_OF, SettingsError

Text = Annotated[str, Field(min_length=1)]


class Settings(BaseModel):
    """What the functions read from their environment. Optional fields are needed only by
    some functions; the code that needs one asks for it with `require`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    table_name: Text
    region: Text
    # Webhooks: the delivery queue and its dead-letter queue (SQS URLs), the S3 bucket for
    # notification bodies too large for a queue message, the KMS key of the secrets.
    webhook_queue_url: Text | None = None
    webhook_dead_letter_queue_url: Text | None = None
    webhook_bodies_bucket: Text | None = None
    webhook_secrets_key_id: Text | None = None
    # How many webhook subscriptions one environment may have.
    webhook_subscription_limit: Annotated[int, Field(ge=1)] = DEFAULT_SUBSCRIPTION_LIMIT
    # Import and export jobs: the bucket of their files, and the queue of their steps.
    transfers_bucket: Text | None = None
    jobs_queue_url: Text | None = None
    dynamodb_endpoint_url: Text | None = None
    sqs_endpoint_url: Text | None = None
    s3_endpoint_url: Text | None = None
    kms_endpoint_url: Text | None = None
    # Local development only: lets webhooks go to http:// loopback receivers.
    webhooks_allow_loopback: bool = False
    # Tests only: multiplies the retry schedule and the 3-day window.
    webhook_backoff_scale: Annotated[float, Field(gt=0)] = 1.0

    @field_validator("webhooks_allow_loopback", mode="before")
    @classmethod
    def _switch(cls, value: object) -> object:
        return value == "1" if isinstance(value, str) else value

    def require(self, field: str) -> str:
        """An optional setting this function cannot work without."""
        value = getattr(self, field)
        if not value:
            raise SettingsError(f"{VARIABLE_OF[field]} is not set: this function needs it.")
        return str(value)


def validate(values: dict[str, str]) -> Settings:
    """`values` by field; raises SettingsError naming every missing or malformed variable."""
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        problems = [
            f"{VARIABLE_OF[str(e['loc'][0])]}: "
            + ("missing" if e["type"] == "missing" else e["msg"])
            for e in error.errors(include_url=False)
        ]
        raise SettingsError("Invalid function environment: " + "; ".join(problems)) from None
