"""Users: upsert, get, delete, list (the reference's "Users" section)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shared.domain import attributes as attribute_rules
from shared.domain.objects import deleted_object, user_object
from shared.http.app import create_app, environment_id, json_body, query_params
from shared.http.conventions import parse_model
from shared.http.errors import ApiError, NotFound
from shared.http.listing import ListSpec, list_object, parse_expand, parse_list_query
from shared.store import users
from shared.store.users import User

app = create_app()

USERS_LIST = ListSpec(
    object_type="user", order_fields=frozenset({"created_at"}), filters=frozenset({"email"})
)


def _id_text(value: Any) -> Any:
    # Many back ends keep numeric ids; accept them as their decimal string.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ObjectId = Annotated[
    str,
    BeforeValidator(_id_text),
    Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f/]+$"),
]


class UpsertUserBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ObjectId
    attributes: dict[str, Any] | None = None


def present(user: User, expand: tuple[str, ...]) -> dict[str, Any]:
    # Memberships arrive with groups (a later issue); until then a user has none to expand.
    return user_object(
        user.id,
        user.created_at,
        user.attributes,
        groups=[] if "groups" in expand else None,
        memberships=[] if any(p.split(".")[0] == "memberships" for p in expand) else None,
    )


@app.post("/users")
def upsert_user() -> dict[str, Any]:
    expand = parse_expand(query_params(app), "user")
    body = parse_model(UpsertUserBody, json_body(app))
    changes = attribute_rules.parse_changes(body.attributes)
    try:
        user = users.upsert(environment_id(app), body.id, changes)
    except users.ConflictError:
        raise ApiError(
            409, "conflict", "Too many concurrent updates to this user; retry the request."
        ) from None
    return present(user, expand)


@app.get("/users/<user_id>")
def get_user(user_id: str) -> dict[str, Any]:
    expand = parse_expand(query_params(app), "user")
    user = users.get(environment_id(app), user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id!r}.")
    return present(user, expand)


@app.delete("/users/<user_id>")
def delete_user(user_id: str) -> dict[str, Any]:
    parse_expand(query_params(app), "user", extra_allowed=frozenset())
    users.delete(environment_id(app), user_id)
    return deleted_object("user", user_id)


@app.get("/users")
def list_users() -> dict[str, Any]:
    params = query_params(app)
    query = parse_list_query(params, USERS_LIST)
    page = users.list_page(
        environment_id(app),
        limit=query.limit,
        descending=query.order_by[0].descending,
        starting_after=query.starting_after,
        email=query.filters.get("email"),
    )
    return list_object(
        [present(user, query.expand) for user in page.items],
        has_more=page.has_more,
        path="/users",
        params=params,
        last_id=page.items[-1].id if page.items else None,
    )


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
