"""Small things every suite shares."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import parse_qsl

from aws_lambda_powertools.utilities.typing import LambdaContext

# The stream, queue and scheduled consumers never read their context: tests pass none.
NO_CONTEXT = cast(LambdaContext, None)


def api_event(
    method: str,
    path: str,
    *,
    environment_id: str,
    body: Any = None,
    query: str = "",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event as the authorizer-protected API would send it."""
    multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        multi.setdefault(name, []).append(value)
    all_headers = {"Userflow-Version": "2020-01-03", **(headers or {})}
    if body is not None and "Content-Type" not in all_headers:
        all_headers["Content-Type"] = "application/json"
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": None,
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "test",
            "httpMethod": method,
            "path": path,
            "authorizer": {"principalId": environment_id, "environment_id": environment_id},
        },
    }


@contextmanager
def kept_environment(names: Sequence[str]) -> Iterator[None]:
    """Whatever the block does to these environment variables is undone after it."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
