"""Users: upsert (with groups and memberships), get, delete, list."""

from __future__ import annotations

from shared.domain.objects import deleted_object
from shared.http import returns
from shared.http.app import (
    create_app,
    environment_id,
    json_body,
    lambda_handler_for,
    query_params,
    request_path,
)
from shared.http.conventions import parse_model
from shared.http.errors import NotFound
from shared.http.listing import ListSpec, list_object, parse_expand, parse_list_query
from shared.http.models import UpsertUserBody
from shared.services import deletion, finder, writes
from shared.services.expansion import Expander
from shared.store import users

app = create_app()

USERS_LIST = ListSpec(
    object_type="user",
    order_fields=frozenset(
        {"created_at", "attributes.signed_up_at", "attributes.last_seen_at", "attributes.name"}
    ),
    filters=frozenset({"condition", "email", "group_id", "segment_id"}),
    id_filters=frozenset({"group_id", "segment_id"}),
)


@app.post("/users")
def upsert_user() -> returns.User:
    env = environment_id(app)
    expand = parse_expand(query_params(app), "user")
    body = parse_model(UpsertUserBody, json_body(app))
    user = writes.upsert_user(env, body)
    return Expander(env).users([user], expand)[0]


@app.get("/users/<user_id>")
def get_user(user_id: str) -> returns.User:
    env = environment_id(app)
    expand = parse_expand(query_params(app), "user")
    user = users.get(env, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id!r}.")
    return Expander(env).users([user], expand)[0]


@app.delete("/users/<user_id>")
def delete_user(user_id: str) -> returns.Deleted:
    deletion.delete_user(environment_id(app), user_id)
    return deleted_object("user", user_id)


@app.get("/users")
def list_users() -> returns.UserList:
    env = environment_id(app)
    params = query_params(app)
    query = parse_list_query(params, USERS_LIST)
    page = finder.list_users(env, query)
    return list_object(
        Expander(env).users(page.items, query.expand),
        has_more=page.has_more,
        path=request_path(app),
        params=params,
        last_id=page.cursor(lambda r: r.id),
    )


lambda_handler = lambda_handler_for(app)
