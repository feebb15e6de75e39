"""The baseline of the throughput benchmark: the least an API function can be.

A bare Powertools `APIGatewayRestResolver` with one route that does one GetItem (a user's
item, on the same table) and returns it: no validation, no settings model, no observability,
no conventions. Served by the local stack's own front door (infra/local/server.py), with the
same authorizer and rate limits, so only the function differs from Waymark's.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from infra.routes import FunctionRoute
from shared.store import keys

ROUTE = FunctionRoute(
    name="baseline", handler="bench.baseline.lambda_handler", paths=("/baseline/{user_id}",)
)

app = APIGatewayRestResolver()


@lru_cache(maxsize=1)
def _client() -> Any:
    return boto3.client("dynamodb", endpoint_url=os.environ.get("DYNAMODB_ENDPOINT_URL") or None)


@app.get("/baseline/<user_id>")
def get_user(user_id: str) -> Any:
    environment_id = app.current_event.raw_event["requestContext"]["authorizer"]["environment_id"]
    item = (
        _client()
        .get_item(TableName=os.environ["TABLE_NAME"], Key=_key(environment_id, user_id))
        .get("Item")
    )
    if item is None:
        return Response(404, "application/json", '{"error": {"code": "not_found"}}')
    return {"id": item["id"]["S"], "item": item}


def _key(environment_id: str, user_id: str) -> dict[str, Any]:
    return {name: {"S": value} for name, value in keys.user(environment_id, user_id).items()}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
