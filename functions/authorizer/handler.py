"""API Gateway REQUEST authorizer: `Authorization: Bearer ak_...` -> the key's environment.

An unknown key gets a Deny policy whose context carries the error; the API's ACCESS_DENIED
gateway response renders it as the spec's 401 envelope. A missing header never reaches
this function (it is the identity source), API Gateway answers UNAUTHORIZED itself.

An allowed key names its environment's usage-plan key (`usageIdentifierKey`): API Gateway
throttles and counts each environment on its own (shared/domain/rate_limits.py).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)

from shared.domain.rate_limits import usage_key
from shared.observability import API_REQUEST_ID, observed, tag_environment
from shared.store import tenancy

BEARER = "bearer "


def bearer_token(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith(BEARER):
        return None
    token = authorization[len(BEARER) :].strip()
    return token or None


@observed(correlation_id_path=API_REQUEST_ID)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = APIGatewayAuthorizerRequestEvent(event)
    token = bearer_token(request.headers.get("authorization"))
    environment_id = tenancy.resolve_api_key(token) if token else None
    tag_environment(environment_id)

    if environment_id is None:
        code, message = (
            ("invalid_api_key", "Invalid API key provided.")
            if token
            else ("invalid_api_key", "Missing API key: send 'Authorization: Bearer <key>'.")
        )
        policy = APIGatewayAuthorizerResponse.from_route_arn(
            request.method_arn,
            principal_id="anonymous",
            context={"error_code": code, "error_message": message},
        )
        policy.deny_all_routes()
        return policy.asdict()

    # Allow every route: API Gateway caches this policy per key for the whole API.
    policy = APIGatewayAuthorizerResponse.from_route_arn(
        request.method_arn,
        principal_id=environment_id,
        context={"environment_id": environment_id},
        usage_identifier_key=usage_key(environment_id),
    )
    policy.allow_all_routes()
    return policy.asdict()
