"""Segments (an extension Userflow lacks): named conditions for `GET /users?segment_id=`."""

from __future__ import annotations

from typing import Any

from shared.domain import conditions
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
from shared.http.listing import ListSpec, list_object, parse_list_query
from shared.http.returns import EXTENSION
from shared.store import segments
from shared.store.segments import Segment

# Each route imports the body model it parses: pydantic loads with the first request that
# parses a body, not at cold start.
app = create_app()

SEGMENTS_LIST = ListSpec(object_type="segment", order_fields=frozenset({"created_at"}))


def _object(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "object": "segment",
        "name": segment.name,
        "condition": segment.condition,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


@app.post("/segments", openapi_extensions=EXTENSION)
def create_segment() -> returns.Segment:
    from shared.http.models import SegmentBody

    body = parse_model(SegmentBody, json_body(app))
    conditions.parse_condition(body.condition)
    return _object(segments.create(environment_id(app), body.name, body.condition))


@app.get("/segments/<segment_id>", openapi_extensions=EXTENSION)
def get_segment(segment_id: str) -> returns.Segment:
    segment = segments.get(environment_id(app), segment_id)
    if segment is None:
        raise NotFound(f"No segment with id {segment_id!r}.")
    return _object(segment)


@app.patch("/segments/<segment_id>", openapi_extensions=EXTENSION)
def update_segment(segment_id: str) -> returns.Segment:
    from shared.http.models import SegmentPatchBody

    body = parse_model(SegmentPatchBody, json_body(app))
    if body.condition is not None:
        conditions.parse_condition(body.condition)
    segment = segments.update(
        environment_id(app), segment_id, name=body.name, condition=body.condition
    )
    if segment is None:
        raise NotFound(f"No segment with id {segment_id!r}.")
    return _object(segment)


@app.delete("/segments/<segment_id>", openapi_extensions=EXTENSION)
def delete_segment(segment_id: str) -> returns.Deleted:
    segments.delete(environment_id(app), segment_id)
    return deleted_object("segment", segment_id)


@app.get("/segments", openapi_extensions=EXTENSION)
def list_segments() -> returns.SegmentList:
    params = query_params(app)
    query = parse_list_query(params, SEGMENTS_LIST)
    page = segments.list_page(
        environment_id(app),
        limit=query.limit,
        descending=query.order_by[0].descending,
        starting_after=query.starting_after,
    )
    return list_object(
        [_object(s) for s in page.items],
        has_more=page.has_more,
        path=request_path(app),
        params=params,
        last_id=page.cursor(lambda s: s.id),
    )


lambda_handler = lambda_handler_for(app)
