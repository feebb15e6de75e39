"""Groups (upsert, get, delete, list) and group memberships (delete)."""

from __future__ import annotations

from shared.domain import limits
from shared.domain.objects import deleted_object
from shared.http import returns
from shared.http.app import (
    create_app,
    environment_id,
    json_body,
    lambda_handler_for,
    query_params,
    request_path,
    required_query,
)
from shared.http.conventions import parse_model
from shared.http.errors import NotFound
from shared.http.listing import ListSpec, list_object, parse_expand, parse_list_query
from shared.services import writes
from shared.services.expansion import Expander
from shared.store import groups

# Each route imports the body model it parses, and the service only it uses (listing,
# deleting): pydantic and those load with the first request that needs them, not
# at cold start. The upsert's service loads here: it is the first request of most cold starts.
app = create_app()

GROUPS_LIST = ListSpec(
    object_type="group",
    order_fields=frozenset({"created_at", "attributes.name"}),
    filters=frozenset({"condition", "segment_id", "user_id"}),
    id_filters=frozenset({"segment_id", "user_id"}),
)


@app.post("/groups")
def upsert_group() -> returns.Group:
    from shared.http.models import UpsertGroupBody

    env = environment_id(app)
    expand = parse_expand(query_params(app), "group")
    body = parse_model(UpsertGroupBody, json_body(app))
    group = writes.upsert_group(env, body)
    return Expander(env).groups([group], expand)[0]


@app.get("/groups/<group_id>")
def get_group(group_id: str) -> returns.Group:
    env = environment_id(app)
    expand = parse_expand(query_params(app), "group")
    group = groups.get(env, group_id)
    if group is None:
        raise NotFound(f"No group with id {group_id!r}.")
    return Expander(env).groups([group], expand)[0]


@app.delete("/groups/<group_id>")
def delete_group(group_id: str) -> returns.Deleted:
    from shared.services import deletion

    deletion.delete_group(environment_id(app), group_id)
    return deleted_object("group", group_id)


@app.get("/groups")
def list_groups() -> returns.GroupList:
    from shared.services import finder

    env = environment_id(app)
    params = query_params(app)
    query = parse_list_query(params, GROUPS_LIST)
    page = finder.list_groups(env, query)
    return list_object(
        Expander(env).groups(page.items, query.expand),
        has_more=page.has_more,
        path=request_path(app),
        params=params,
        last_id=page.cursor(lambda r: r.id),
    )


@app.delete("/group_memberships")
def delete_membership() -> returns.Deleted:
    from shared.services import deletion

    group_id = limits.check_id(required_query(app, "group_id"), "group_id")
    user_id = limits.check_id(required_query(app, "user_id"), "user_id")
    removed = deletion.delete_membership(environment_id(app), user_id, group_id)
    return {
        "id": removed.id if removed else None,
        "object": "group_membership",
        "deleted": True,
    }


lambda_handler = lambda_handler_for(app)
