"""POST /users/bulk (an extension): up to 1,000 user upserts in one request.

Each item has the semantics of POST /users (the same body, rules, limits and writes) and is
all-or-nothing on its own; the answer lists each item's outcome, a refused item with the
error POST /users would have answered, in the envelope's shape. Items not started when the
invocation's time ran short come back as `not_processed`: send them again.
"""

from __future__ import annotations

from typing import Any

from shared.clock import time_left
from shared.domain.limits import MAX_BULK_BODY_BYTES
from shared.http import returns
from shared.http.app import (
    create_app,
    environment_id,
    error_of,
    json_body,
    lambda_handler_for,
    request_id,
)
from shared.http.conventions import parse_model
from shared.http.returns import EXTENSION
from shared.services import bulk
from shared.store.attributed import Record

# Each route imports the body model it parses: pydantic loads with the first request that
# parses a body, not at cold start.
app = create_app()

# Items start only while this much time is left: the longest single upsert (201 items
# written in two waves) takes well under it, and the answer must leave before API
# Gateway's 29 s.
RESERVE_SECONDS = 4.0
NOT_PROCESSED = "not_processed"


@app.post("/users/bulk", openapi_extensions=EXTENSION)
def bulk_upsert_users() -> returns.BulkUserResults:
    from shared.http.models import BulkUsersBody

    env = environment_id(app)
    body = parse_model(BulkUsersBody, json_body(app, MAX_BULK_BODY_BYTES))
    outcomes = bulk.upsert_users(
        env, body.users, time_left=time_left(app.lambda_context), reserve_seconds=RESERVE_SECONDS
    )
    results = [
        _result(index, item, outcome)
        for index, (item, outcome) in enumerate(zip(body.users, outcomes, strict=True))
    ]
    codes = [r["error"]["code"] if "error" in r else None for r in results]
    return {
        "object": "bulk_result",
        "data": results,
        "succeeded": codes.count(None),
        "failed": len(codes) - codes.count(None) - codes.count(NOT_PROCESSED),
        "not_processed": codes.count(NOT_PROCESSED),
    }


def _result(index: int, item: Any, outcome: bulk.Outcome[Record]) -> dict[str, Any]:
    result: dict[str, Any] = {"index": index, "id": _shown_id(item, outcome)}
    if outcome.value is not None:
        return {**result, "status": 200}
    if outcome.error is not None:
        status, error = error_of(app, outcome.error)
        return {**result, "status": status, "error": error}
    error = {
        "code": NOT_PROCESSED,
        "message": "Not processed: the request ran out of time before this item; send it again.",
        "request_id": request_id(app),
    }
    return {**result, "status": 503, "error": error}


def _shown_id(item: Any, outcome: bulk.Outcome[Record]) -> str | None:
    if outcome.value is not None:
        return outcome.value.id
    user_id = item.get("id") if isinstance(item, dict) else None
    return (
        str(user_id) if isinstance(user_id, str | int) and not isinstance(user_id, bool) else None
    )


lambda_handler = lambda_handler_for(app)
