"""Users: upsert (with groups and memberships), get, delete, list; search and opting out of
content (extensions)."""

from __future__ import annotations

from shared.domain.objects import deleted_object
from shared.http import returns
from shared.http.app import (
    create_app,
    environment_id,
    json_body,
    lambda_handler_for,
    optional_json_body,
    query_params,
    request_path,
)
from shared.http.conventions import parse_model
from shared.http.errors import NotFound
from shared.http.listing import ListSpec, list_object, parse_expand, parse_list_query
from shared.http.returns import EXTENSION
from shared.services import writes
from shared.services.expansion import Expander
from shared.store import users

# Each route imports the body model it parses, and the service only it uses (listing,
# searching, deleting): pydantic and those load with the first request that needs them, not
# at cold start. The upsert's service loads here: it is the first request of most cold starts.
app = create_app()

USERS_LIST = ListSpec(
    object_type="user",
    order_fields=frozenset(
        {"created_at", "attributes.signed_up_at", "attributes.last_seen_at", "attributes.name"}
    ),
    filters=frozenset({"condition", "email", "group_id", "segment_id"}),
    id_filters=frozenset({"group_id", "segment_id"}),
)

# Extension: the order is the index's (matching text), and the cursor a position in it.
USERS_SEARCH = ListSpec(
    object_type="user", order_fields=frozenset(), filters=frozenset({"q"}), opaque_cursor=True
)


@app.post("/users")
def upsert_user() -> returns.User:
    from shared.http.models import UpsertUserBody

    env = environment_id(app)
    expand = parse_expand(query_params(app), "user")
    body = parse_model(UpsertUserBody, json_body(app))
    user = writes.upsert_user(env, body)
    return Expander(env).users([user], expand)[0]


@app.get("/users/search", openapi_extensions=EXTENSION)
def search_users() -> returns.UserList:
    from shared.services import search

    env = environment_id(app)
    params = query_params(app)
    query = parse_list_query(params, USERS_SEARCH)
    page = search.search_users(
        env, query.filters.get("q"), limit=query.limit, starting_after=query.starting_after
    )
    return list_object(
        Expander(env).users(page.items, query.expand),
        has_more=page.has_more,
        path=request_path(app),
        params=params,
        last_id=page.resume_after,
    )


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
    from shared.services import deletion

    deletion.delete_user(environment_id(app), user_id)
    return deleted_object("user", user_id)


@app.post("/users/<user_id>/unsubscribe", openapi_extensions=EXTENSION)
def unsubscribe(user_id: str) -> returns.User:
    """Extension: the user starts no content sessions until it resubscribes."""
    return _subscription(user_id, subscribed=False)


@app.post("/users/<user_id>/resubscribe", openapi_extensions=EXTENSION)
def resubscribe(user_id: str) -> returns.User:
    return _subscription(user_id, subscribed=True)


def _subscription(user_id: str, *, subscribed: bool) -> returns.User:
    from shared.http.models import Body

    env = environment_id(app)
    expand = parse_expand(query_params(app), "user")
    parse_model(Body, optional_json_body(app))  # no fields: any is a 400
    user = writes.set_content_subscription(env, user_id, subscribed=subscribed)
    return Expander(env).users([user], expand)[0]


@app.get("/users")
def list_users() -> returns.UserList:
    from shared.services import finder

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
