"""The resolver factory every function uses: conventions, error envelope, 404/405.

Handlers stay thin: they parse with the helpers below, call a store, and return a dict.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.domain import limits
from shared.http import conventions, idempotency
from shared.http.errors import CLIENT_ERRORS, ApiError, BadRequest, described, envelope
from shared.observability import API_REQUEST_ID, logger, observed, tag_environment

if TYPE_CHECKING:
    from shared.http.listing import QueryParams

RETRY_AFTER_SECONDS = 5
ApiHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
# How long a claimed Idempotency-Key is held without a Lambda context to say (tests).
DEFAULT_IN_FLIGHT_SECONDS = 30.0


def create_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()
    app.use(middlewares=[_check_conventions, _decode_path_parameters, _idempotent])

    def _client_error(error: Exception) -> Response[Any]:
        found = described(error)
        assert found is not None, f"{type(error).__name__} is a client error"
        status, code, message = found
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
        return error_response(app, status, code, message, headers)

    def _not_found(_: NotFoundError) -> Response[Any]:
        event = app.current_event
        allowed = _allowed_methods(app, event.path)
        if allowed:
            message = (
                f"{event.http_method} is not allowed on {event.path}; use {', '.join(allowed)}."
            )
            return error_response(
                app, 405, "method_not_allowed", message, {"Allow": ", ".join(allowed)}
            )
        return error_response(app, 404, "not_found", f"Unrecognized URL {event.path}.")

    def _unexpected(error: Exception) -> Response[Any]:
        logger.exception("Unhandled error")
        return error_response(
            app, 500, "internal_error", "Something went wrong on our end. Please retry."
        )

    for client_error in CLIENT_ERRORS:
        app.exception_handler(client_error)(_client_error)
    app.exception_handler(NotFoundError)(_not_found)
    app.exception_handler(Exception)(_unexpected)
    return app


def lambda_handler_for(app: APIGatewayRestResolver) -> ApiHandler:
    """The function's Lambda handler: the resolver, with logs carrying the request id."""

    @observed(correlation_id_path=API_REQUEST_ID)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return lambda_handler


def error_response(
    app: APIGatewayRestResolver,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=envelope(code, message, request_id(app)),
        headers=headers,
    )


def request_id(app: APIGatewayRestResolver) -> str:
    return app.current_event.request_context.request_id or ""


def environment_id(app: APIGatewayRestResolver) -> str:
    """The environment the caller's API key authorizes (set by the authorizer)."""
    value = app.current_event.request_context.authorizer.get_context().get("environment_id")
    if not value:
        # Only reachable if the API is wired without the authorizer: fail closed.
        raise ApiError(401, "invalid_api_key", "Missing or invalid API key.")
    return str(value)


def request_path(app: APIGatewayRestResolver) -> str:
    """The path as the client requested it, for `url` and `next_page_url`: behind a custom
    domain mapped at the root it is the resource's path (`/users`, as on the hosted API);
    behind the default stage URL it starts with the stage (`/prod/users`), so a client
    following `next_page_url` from the API's base host reaches the stage. API Gateway gives
    it as `requestContext.path` (percent-encoded, as sent)."""
    event = app.current_event
    return event.request_context.path or event.path


def query_params(app: APIGatewayRestResolver) -> QueryParams:
    return app.current_event.multi_value_query_string_parameters or {}


def required_query(app: APIGatewayRestResolver, name: str) -> str:
    """A query parameter the route cannot do without, given exactly once (the OpenAPI
    generator documents every `required_query(app, "<name>")` as a required parameter)."""
    values = query_params(app).get(name) or []
    if len(values) != 1 or not values[0]:
        raise BadRequest(f"Query parameter `{name}` is required (exactly once).")
    return values[0]


def json_body(app: APIGatewayRestResolver, max_bytes: int = limits.MAX_BODY_BYTES) -> Any:
    return conventions.parse_json_body(app.current_event.body, max_bytes)


def optional_json_body(app: APIGatewayRestResolver) -> Any:
    """The JSON body of a request that may have none (an action): `{}` without one."""
    return json_body(app) if app.current_event.body else {}


def _check_conventions(app: APIGatewayRestResolver, next_middleware: Callable[..., Any]) -> Any:
    event = app.current_event
    tag_environment(event.request_context.authorizer.get_context().get("environment_id"))
    conventions.check_version(_header(app, conventions.VERSION_HEADER))
    conventions.check_accept(_header(app, "accept"))
    conventions.check_content_type(_header(app, "content-type"), event.body)
    return next_middleware(app)


def _decode_path_parameters(
    app: APIGatewayRestResolver, next_middleware: Callable[..., Any]
) -> Any:
    """Decode every path parameter, exactly once, before any route sees it.

    API Gateway's REST API hands Lambda `path` (and `pathParameters`) still percent-encoded,
    as the client sent them: live captures of a REST proxy event show `"path":
    "/capture/space%20value"` and `"pathParameters": {"proxy": "capture/space%20value"}`
    (github.com/hotsock/voker, vokerhttp/testdata/apigwv1-request.json, 2026-07-10), while
    query strings arrive decoded. Powertools matches routes on `path`, so the values it
    extracts are encoded; they are decoded here and nowhere else. Every path parameter is an
    id, so one that breaks the id rules (no object can have it) is a 400 before any read.
    """
    raw: dict[str, str] = app.context.get("_route_args") or {}  # Powertools' extracted values
    app.context["_route_args"] = {name: path_parameter(name, value) for name, value in raw.items()}
    return next_middleware(app)


def path_parameter(name: str, value: str) -> str:
    """One percent-decoded path parameter (UTF-8), checked against the id rules."""
    try:
        decoded = unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(f"Invalid `{name}`: not UTF-8 once percent-decoded.") from None
    problem = limits.id_problem(decoded)
    if problem:
        raise BadRequest(f"Invalid `{name}`: {problem}.")
    return decoded


def _idempotent(app: APIGatewayRestResolver, next_middleware: Callable[..., Any]) -> Any:
    """The `Idempotency-Key` header (shared/http/idempotency.py): a write with a key claims it
    first, then keeps its response for replays or releases the key for a retry. A write
    without one runs as it always did, with no extra DynamoDB call."""
    event = app.current_event
    values = _header_values(app, idempotency.HEADER)
    if not values or event.http_method.upper() not in idempotency.WRITE_METHODS:
        return next_middleware(app)
    if not _is_route(app):
        return next_middleware(app)  # 404 and 405 change nothing and are not kept
    key = idempotency.check_key(values)
    # Imported by the first request with a key, not at every cold start.
    from shared.store import idempotency as records

    env = environment_id(app)
    request = idempotency.fingerprint(event.http_method, event.path, query_params(app), event.body)
    held = records.claim(
        env, key, request, now=time.time(), in_flight_seconds=_remaining_seconds(app)
    )
    if isinstance(held, records.Claimed):
        return _run_claimed(app, next_middleware, env, key, held.token)
    if held.fingerprint != request:
        message = idempotency.reused_message(event.http_method, event.path)
        return error_response(app, 409, idempotency.KEY_REUSED, message)
    if isinstance(held, records.InFlight):
        retry = {"Retry-After": str(idempotency.IN_USE_RETRY_AFTER_SECONDS)}
        return error_response(app, 409, idempotency.KEY_IN_USE, idempotency.IN_USE_MESSAGE, retry)
    kept = held.response
    if kept.body is None:
        message = idempotency.unavailable_message(kept.status, kept.size)
        return error_response(app, 409, idempotency.RESPONSE_UNAVAILABLE, message)
    return Response(
        status_code=kept.status,
        content_type=content_types.APPLICATION_JSON,
        body=kept.body,
        headers={**kept.headers, idempotency.REPLAYED_HEADER: "true"},
    )


def _run_claimed(
    app: APIGatewayRestResolver,
    next_middleware: Callable[..., Any],
    env: str,
    key: str,
    token: str,
) -> Response[Any]:
    """Runs a request whose key it claimed; its response, an error's included, is kept or the
    key released. Failing to record that never fails the request (the write is done): the
    claim then frees itself when the invocation's time is up."""
    from shared.store import idempotency as records

    try:
        response: Response[Any] = next_middleware(app)
    except Exception as error:
        response = _render_error(app, error)
    body = _serialized_body(response)
    try:
        if idempotency.is_kept(response.status_code):
            headers = {k: v for k, v in response.headers.items() if isinstance(v, str)}
            size = len(body.encode("utf-8", "surrogatepass"))
            kept = records.KeptResponse(response.status_code, headers, body, size)
            sealed = bool(app.context.get(_HOLDS_SECRET))
            records.answer(env, key, token, kept, now=time.time(), sealed=sealed)
        else:
            records.release(env, key, token, now=time.time())
    except Exception:
        logger.exception("Could not record the outcome of a request's Idempotency-Key")
    return response


def error_of(app: APIGatewayRestResolver, error: Exception) -> tuple[int, dict[str, Any]]:
    """The status and the envelope's `error` object create_app's handlers give `error` (for a
    result that holds many outcomes, such as a bulk write's items)."""
    response = _render_error(app, error)
    body = json.loads(response.body) if isinstance(response.body, str) else response.body
    assert isinstance(body, dict), "create_app's handlers answer with the envelope"
    return response.status_code, body["error"]


_HOLDS_SECRET = "response_holds_secret"


def response_holds_secret(app: APIGatewayRestResolver) -> None:
    """Marks this request's response as holding a secret: an Idempotency-Key keeps it
    encrypted (shared/webhooks/sealing.py), never in clear."""
    app.context[_HOLDS_SECRET] = True


def _render_error(app: APIGatewayRestResolver, error: Exception) -> Response[Any]:
    """The response create_app's exception handlers give `error` (every Exception has one)."""
    handler = app.exception_handler_manager.lookup_exception_handler(type(error))
    if handler is None:
        raise error
    rendered: Response[Any] = handler(error)
    return rendered


def _serialized_body(response: Response[Any]) -> str:
    """The body as the client gets it (serialized as Powertools would, once, here), so a
    replay sends the same bytes."""
    body = response.body
    if not isinstance(body, str):
        body = json.dumps(body, separators=(",", ":"), cls=Encoder)
        response.body = body
    return body


def _remaining_seconds(app: APIGatewayRestResolver) -> float:
    """Until this invocation is stopped: a claim held by a crashed one frees itself then."""
    remaining = getattr(app.lambda_context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return DEFAULT_IN_FLIGHT_SECONDS
    return max(1.0, float(remaining()) / 1000)


def _is_route(app: APIGatewayRestResolver) -> bool:
    """Whether a registered route matched (not Powertools' catch-all for 404 and 405)."""
    route = app.context.get("_route")
    return any(route is registered for registered in (*app._static_routes, *app._dynamic_routes))


def _header_values(app: APIGatewayRestResolver, name: str) -> list[str]:
    """Every value of a header, whatever its case (API Gateway passes names as sent)."""
    event = app.current_event
    wanted = name.lower()
    values = [
        value
        for header, listed in (event.multi_value_headers or {}).items()
        if header.lower() == wanted
        for value in listed or []
    ]
    if not values:
        single = _header(app, name)
        values = [single] if single is not None else []
    return values


def _header(app: APIGatewayRestResolver, name: str) -> str | None:
    value = app.current_event.headers.get(name)  # Powertools' headers are case-insensitive
    return str(value) if value is not None else None


def _allowed_methods(app: APIGatewayRestResolver, path: str) -> list[str]:
    """Methods registered for `path`, to tell 405 from 404.

    Powertools keeps its routes in private lists and offers no public lookup.
    """
    routes = [*app._static_routes, *app._dynamic_routes]
    return sorted({route.method for route in routes if _matches(route.rule, path)})


def _matches(rule: re.Pattern[str], path: str) -> bool:
    return rule.match(path) is not None
