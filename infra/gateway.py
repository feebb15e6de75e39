"""API Gateway's own answers (gateway responses), in the API's error envelope.

One table read by the CDK API construct (which renders each entry as a gateway response) and
by the local stack (which answers the same way), so the two cannot disagree. Kept free of CDK
imports: the local stack reads it without aws_cdk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.domain.rate_limits import QUOTA_RETRY_AFTER_SECONDS, THROTTLED_RETRY_AFTER_SECONDS

# API Gateway's own message for the error, as a JSON string literal.
MESSAGE_STRING = "$context.error.messageString"


@dataclass(frozen=True)
class GatewayAnswer:
    """How API Gateway renders one of its own errors; `status` None keeps its status.

    `response_type` is the name of an API Gateway response type (apigw.ResponseType).
    `code` and `message` may be `$context` variables, which API Gateway substitutes.
    """

    response_type: str
    status: int | None
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


MISSING_KEY = GatewayAnswer(
    # No Authorization header: API Gateway answers before calling the authorizer.
    "UNAUTHORIZED",
    401,
    "invalid_api_key",
    "Missing API key: send 'Authorization: Bearer <key>'.",
)
DENIED = GatewayAnswer(
    # The authorizer denied the key and said why in its context (functions/authorizer).
    "ACCESS_DENIED",
    401,
    "$context.authorizer.error_code",
    "$context.authorizer.error_message",
)
UNKNOWN_PATH = GatewayAnswer(
    # REST APIs answer an unknown path with "Missing Authentication Token" (403): a 404 here.
    "MISSING_AUTHENTICATION_TOKEN",
    404,
    "not_found",
    "Unrecognized URL.",
)
THROTTLED = GatewayAnswer(
    # The environment's usage plan (or the stage) throttled the request.
    "THROTTLED",
    429,
    "rate_limited",
    "Too many requests. Please retry after the Retry-After delay (seconds).",
    {"Retry-After": str(THROTTLED_RETRY_AFTER_SECONDS)},
)
QUOTA_EXCEEDED = GatewayAnswer(
    "QUOTA_EXCEEDED",
    429,
    "rate_limited",
    "This environment's daily request quota is used up; it resets at 00:00 UTC.",
    {"Retry-After": str(QUOTA_RETRY_AFTER_SECONDS)},
)
NO_USAGE_PLAN = GatewayAnswer(
    # The authorizer named a usage-plan key that is in no plan of this stage: the
    # environment was created without the stack (`waymark env sync` fixes it).
    "INVALID_API_KEY",
    403,
    "forbidden",
    "This environment is not enabled on this API yet. Please contact its operator.",
)
TOO_LARGE = GatewayAnswer(
    # Kept as HTTP 413 (more precise than 400); the code stays the generic one.
    "REQUEST_TOO_LARGE",
    413,
    "invalid_request",
    "Request is too large.",
)
DEFAULT_4XX = GatewayAnswer("DEFAULT_4XX", None, "invalid_request", MESSAGE_STRING)
DEFAULT_5XX = GatewayAnswer(
    "DEFAULT_5XX", None, "internal_error", "Something went wrong on our end. Please retry."
)

GATEWAY_ANSWERS: tuple[GatewayAnswer, ...] = (
    MISSING_KEY,
    DENIED,
    UNKNOWN_PATH,
    THROTTLED,
    QUOTA_EXCEEDED,
    NO_USAGE_PLAN,
    TOO_LARGE,
    DEFAULT_4XX,
    DEFAULT_5XX,
)
