"""Usertour's v1 API (an extension, for teams moving from Usertour): each v1 request runs as
the Waymark request it stands for, through the Waymark handler that serves that one (the same
rules, limits, store, authorizer and Idempotency-Key), and its answer is shown as v1 shows it.
What stands for what is shared/usertour/mapping.py; this module only carries requests and
answers across."""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.domain.limits import MAX_BODY_BYTES
from shared.usertour import mapping

Event = dict[str, Any]
_PARAMETER = re.compile(r"\{(\w+)\}")


def lambda_handler(event: Event, context: LambdaContext) -> dict[str, Any]:
    resource = str(event.get("resource") or "")
    method = str(event.get("httpMethod") or "").upper()
    route = mapping.ROUTES.get(resource)
    if route is None:
        return _error(event, 404, "not_found", f"Unrecognized URL {event.get('path')}.")
    if method not in route.methods:
        allowed = ", ".join(route.methods)
        message = f"{method} is not allowed on {event.get('path')}; use {allowed}."
        return _error(event, 405, "method_not_allowed", message, {"Allow": allowed})
    if resource == "/v1/company-memberships" and method == "DELETE":
        route = mapping.DELETE_MEMBERSHIP
    params = event.get("multiValueQueryStringParameters") or {}
    listing = method == "GET" and not resource.endswith("}")
    required = mapping.REQUIRED.get(resource) if listing else None
    if required and not params.get(required):
        message = f"Query parameter `{required}` is required."
        return _error(event, 400, "missing_parameter", message)  # v1: E1009, invalid request
    query, asked = mapping.waymark_params(resource, params, listing=listing)
    body = _body(event, resource, query)
    inner = {
        **event,
        "resource": route.template,
        "path": _path(route.template, event),
        "pathParameters": _path_parameters(route.template, event),
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "body": body,
    }
    handler = importlib.import_module(route.handler).lambda_handler
    return _answer(handler(inner, context), event, resource, asked, params)


def _body(event: Event, resource: str, query: dict[str, list[str]]) -> Any:
    """The request body as the Waymark route takes it (left as sent when it is not JSON: the
    Waymark handler says what is wrong with it)."""
    text = event.get("body")
    if not text or event.get("isBase64Encoded") or len(text) > MAX_BODY_BYTES:
        return text
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        return text
    if resource == "/v1/users":
        body = mapping.waymark_user_body(body)
    elif resource == "/v1/company-memberships":
        body = mapping.waymark_membership_body(body)
        asked = query.pop("expand[]", [])
        query["expand[]"] = ["memberships", *(f"memberships.{path}" for path in asked)]
    elif resource == "/v1/events":
        body = mapping.waymark_event_body(body)
    return json.dumps(body)


def _path_parameters(template: str, event: Event) -> dict[str, str] | None:
    given = event.get("pathParameters") or {}
    found = {
        name: given[v1_name]
        for name in _PARAMETER.findall(template)
        for v1_name in given
        if mapping.PARAMETERS.get(v1_name, v1_name) == name
    }
    return found or None


def _path(template: str, event: Event) -> str:
    parameters = _path_parameters(template, event) or {}
    return _PARAMETER.sub(lambda m: parameters[m.group(1)], template)


def _answer(
    response: dict[str, Any],
    event: Event,
    resource: str,
    asked: list[str],
    params: dict[str, list[str]],
) -> dict[str, Any]:
    status = int(response["statusCode"])
    data = json.loads(response.get("body") or "null")
    if status >= 400:
        error = data["error"]
        shown = mapping.v1_error(
            status, error["code"], error["message"], resource, error.get("request_id", "")
        )
    elif isinstance(data, dict) and data.get("object") == "list":
        shown = mapping.v1_list(data, asked, str(event.get("path")), params)
    elif resource == "/v1/company-memberships" and not data.get("deleted"):
        company_id = json.loads(event.get("body") or "{}").get("companyId")
        shown = mapping.v1_object(mapping.membership_of(data, str(company_id)), asked)
    else:
        shown = mapping.v1_object(data, asked)
    return {**response, "body": json.dumps(shown, separators=(",", ":"))}


def _error(
    event: Event, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    request_id = str((event.get("requestContext") or {}).get("requestId") or "")
    body = mapping.v1_error(status, code, message, str(event.get("resource") or ""), request_id)
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }
