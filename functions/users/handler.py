"""Users: upsert (with groups and memberships), get, delete, list."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.domain import conditions
from shared.domain.errors import InvalidInput
from shared.domain.objects import deleted_object
from shared.http.app import create_app, environment_id, json_body, query_params
from shared.http.conventions import parse_model
from shared.http.errors import NotFound
from shared.http.listing import ListSpec, list_object, parse_expand, parse_list_query
from shared.http.models import UpsertUserBody
from shared.services import deletion, finder, writes
from shared.services.expansion import Expander
from shared.store import segments, users

app = create_app()

USERS_LIST = ListSpec(
    object_type="user",
    order_fields=frozenset(
        {"created_at", "attributes.signed_up_at", "attributes.last_seen_at", "attributes.name"}
    ),
    filters=frozenset({"condition", "email", "group_id", "segment_id"}),
)


@app.post("/users")
def upsert_user() -> dict[str, Any]:
    env = environment_id(app)
    expand = parse_expand(query_params(app), "user")
    body = parse_model(UpsertUserBody, json_body(app))
    user = writes.upsert_user(env, body)
    return Expander(env).users([user], expand)[0]


@app.get("/users/<user_id>")
def get_user(user_id: str) -> dict[str, Any]:
    env = environment_id(app)
    expand = parse_expand(query_params(app), "user")
    user = users.get(env, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id!r}.")
    return Expander(env).users([user], expand)[0]


@app.delete("/users/<user_id>")
def delete_user(user_id: str) -> dict[str, Any]:
    parse_expand(query_params(app), "user", extra_allowed=frozenset())
    deletion.delete_user(environment_id(app), user_id)
    return deleted_object("user", user_id)


@app.get("/users")
def list_users() -> dict[str, Any]:
    env = environment_id(app)
    params = query_params(app)
    query = parse_list_query(params, USERS_LIST)
    condition = _condition(env, query.filters)
    simple_order = [o.field for o in query.order_by] == ["created_at"]
    if condition is None and "group_id" not in query.filters and simple_order:
        page = users.list_page(
            env,
            limit=query.limit,
            descending=query.order_by[0].descending,
            starting_after=query.starting_after,
            email=query.filters.get("email"),
        )
    else:
        page = finder.find_users(
            env,
            query,
            condition=condition,
            group_id=query.filters.get("group_id"),
            email=query.filters.get("email"),
        )
    return list_object(
        Expander(env).users(page.items, query.expand),
        has_more=page.has_more,
        path="/users",
        params=params,
        last_id=page.items[-1].id if page.items else None,
    )


def _condition(env: str, filters: dict[str, str]) -> conditions.Condition | None:
    """`condition` and `segment_id` together mean both must hold."""
    parsed = []
    if "condition" in filters:
        parsed.append(conditions.parse_condition_text(filters["condition"]))
    if "segment_id" in filters:
        segment = segments.get(env, filters["segment_id"])
        if segment is None:
            raise InvalidInput(f"Invalid `segment_id`: no segment {filters['segment_id']!r}.")
        parsed.append(conditions.parse_condition(segment.condition))
    if not parsed:
        return None
    return parsed[0] if len(parsed) == 1 else conditions.Clause("and", tuple(parsed))


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
