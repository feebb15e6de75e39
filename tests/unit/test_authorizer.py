"""The REQUEST authorizer: bearer key -> environment, anything else -> Deny with the error."""

from __future__ import annotations

from typing import Any

import pytest

from functions.authorizer.handler import bearer_token, lambda_handler
from shared.store import tenancy

ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/users"


def authorize(authorization: str | None) -> dict[str, Any]:
    headers = {"Authorization": authorization} if authorization is not None else {}
    event = {"type": "REQUEST", "methodArn": ARN, "headers": headers, "httpMethod": "GET"}
    return lambda_handler(event, None)


def effect(policy: dict[str, Any]) -> str:
    return str(policy["policyDocument"]["Statement"][0]["Effect"])


def test_valid_key_allows_every_route_with_the_environment(table: str) -> None:
    environment = tenancy.create_environment("Prod")
    _, plain = tenancy.create_api_key(environment.id)
    policy = authorize(f"Bearer {plain}")
    assert effect(policy) == "Allow"
    assert policy["principalId"] == environment.id
    assert policy["context"] == {"environment_id": environment.id}
    assert policy["policyDocument"]["Statement"][0]["Resource"] == [
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*"
    ]
    # The environment's usage-plan key: API Gateway applies its rate limits.
    assert policy["usageIdentifierKey"] == f"waymark-usage-{environment.id}"


def test_a_denied_key_names_no_usage_plan_key(table: str) -> None:
    assert "usageIdentifierKey" not in authorize("Bearer ak_unknownunknownunknownunknown")


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic abc", "Bearer ak_unknownunknownunknownunknown", "Bearer sk_x"],
)
def test_missing_or_unknown_keys_are_denied_with_the_error(
    table: str, authorization: str | None
) -> None:
    policy = authorize(authorization)
    assert effect(policy) == "Deny"
    assert policy["context"]["error_code"] == "invalid_api_key"
    assert policy["context"]["error_message"]


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer ak_1") == "ak_1"
    assert bearer_token("bearer  ak_1 ") == "ak_1"
    assert bearer_token("ak_1") is None
