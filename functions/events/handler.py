"""Events: track (the reference) and list (an extension for debugging integrations)."""

from __future__ import annotations

from shared.domain.attributes import validate_name
from shared.domain.objects import event_object
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
from shared.http.listing import ListSpec, list_object, parse_expand, parse_list_query
from shared.http.returns import EXTENSION
from shared.services import tracking
from shared.services.expansion import Expander
from shared.store import events

# Each route imports the body model it parses: pydantic loads with the first request that
# parses a body, not at cold start.
app = create_app()

EVENTS_LIST = ListSpec(
    object_type="event",
    order_fields=frozenset({"created_at"}),
    default_order="-created_at",
    filters=frozenset({"user_id", "group_id", "name"}),
    id_filters=frozenset({"user_id", "group_id"}),
)


@app.post("/events")
def track_event() -> returns.Event:
    from shared.http.models import TrackEventBody

    env = environment_id(app)
    expand = parse_expand(query_params(app), "event")
    event = tracking.track_event(env, parse_model(TrackEventBody, json_body(app)))
    return Expander(env).related([event_object(event)], expand)[0]


@app.get("/events", openapi_extensions=EXTENSION)
def list_events() -> returns.EventList:
    env = environment_id(app)
    params = query_params(app)
    query = parse_list_query(params, EVENTS_LIST)
    if "name" in query.filters:
        validate_name(query.filters["name"], "event")
    page = events.list_page(
        env,
        limit=query.limit,
        descending=query.order_by[0].descending,
        starting_after=query.starting_after,
        user_id=query.filters.get("user_id"),
        group_id=query.filters.get("group_id"),
        name=query.filters.get("name"),
    )
    return list_object(
        Expander(env).related([event_object(e) for e in page.items], query.expand),
        has_more=page.has_more,
        path=request_path(app),
        params=params,
        last_id=page.cursor(lambda e: e.id),
    )


lambda_handler = lambda_handler_for(app)
