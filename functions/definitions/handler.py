"""Attribute and event definitions (read-only; created as data is written)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from shared.domain.errors import InvalidInput
from shared.domain.ordering import page_in_memory
from shared.http import returns
from shared.http.app import (
    create_app,
    environment_id,
    lambda_handler_for,
    query_params,
    request_path,
)
from shared.http.listing import ListQuery, ListSpec, list_object, parse_list_query
from shared.store import definitions

app = create_app()

ORDER_FIELDS = frozenset({"created_at", "display_name", "name"})
ATTRIBUTES_LIST = ListSpec(
    object_type="attribute_definition",
    order_fields=ORDER_FIELDS,
    default_order="display_name",
    filters=frozenset({"scope"}),
    list_filters=frozenset({"event_name"}),
)
EVENTS_LIST = ListSpec(
    object_type="event_definition", order_fields=ORDER_FIELDS, default_order="display_name"
)

T = TypeVar("T", definitions.AttributeDefinition, definitions.EventDefinition)


def _page(items: Sequence[T], query: ListQuery) -> tuple[list[T], bool]:
    """Definitions are few (one partition): sort and page them in memory."""
    return page_in_memory(
        items,
        order_by=query.order_by,
        limit=query.limit,
        starting_after=query.starting_after,
        value_of=getattr,
        id_of=lambda d: d.id,
        tie_breaker=lambda d: (d.created_at, d.id),
    )


def _attribute_object(d: definitions.AttributeDefinition) -> dict[str, Any]:
    return {
        "id": d.id,
        "object": "attribute_definition",
        "created_at": d.created_at,
        "data_type": d.data_type,
        "description": d.description,
        "display_name": d.display_name,
        "name": d.name,
        "scope": d.scope,
    }


@app.get("/attribute_definitions")
def list_attribute_definitions() -> returns.AttributeDefinitionList:
    params = query_params(app)
    query = parse_list_query(params, ATTRIBUTES_LIST)
    scope = query.filters.get("scope")
    if scope is not None and scope not in definitions.ATTRIBUTE_SCOPES:
        accepted = ", ".join(definitions.ATTRIBUTE_SCOPES)
        raise InvalidInput(f"Invalid `scope` {scope!r}. Accepted: {accepted}.")
    env = environment_id(app)
    event_names = set(query.list_filters.get("event_name", ()))
    used = definitions.event_attribute_names(env, event_names) if event_names else set()
    found = [
        d
        for d in definitions.attribute_definitions(env)
        if (scope is None or d.scope == scope)
        and (
            not event_names
            or (d.scope == "event" and (d.name in used or bool(event_names & set(d.event_names))))
        )
    ]
    items, has_more = _page(found, query)
    return list_object(
        [_attribute_object(d) for d in items],
        has_more=has_more,
        path=request_path(app),
        params=params,
        last_id=items[-1].id if items else None,
    )


@app.get("/event_definitions")
def list_event_definitions() -> returns.EventDefinitionList:
    params = query_params(app)
    query = parse_list_query(params, EVENTS_LIST)
    items, has_more = _page(definitions.event_definitions(environment_id(app)), query)
    return list_object(
        [{"object": "event_definition", **asdict(d)} for d in items],
        has_more=has_more,
        path=request_path(app),
        params=params,
        last_id=items[-1].id if items else None,
    )


lambda_handler = lambda_handler_for(app)
