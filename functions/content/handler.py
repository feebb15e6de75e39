"""Content and content versions: the reference's reads, plus authoring (an extension): create,
rename, archive, edit the draft, publish."""

from __future__ import annotations

from typing import Any

from shared.domain.content import Content
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
from shared.http.listing import ListSpec, list_object, parse_expand, parse_list_query
from shared.http.returns import EXTENSION
from shared.services import content as service
from shared.services.content_expansion import ContentExpander

# Each route imports the body model it parses: pydantic loads with the first request that
# parses a body, not at cold start.
app = create_app()

CONTENT_LIST = ListSpec(
    object_type="content",
    order_fields=frozenset({"created_at", "name"}),
    filters=frozenset({"type"}),
)
VERSIONS_LIST = ListSpec(
    object_type="content_version",
    order_fields=frozenset({"number"}),
    default_order="number",
    filters=frozenset({"content_id", "number"}),
    id_filters=frozenset({"content_id"}),
)
ONE = "/content/<content_id>"


def _expand() -> tuple[str, ...]:
    """The request's `expand` of a content object, checked before anything is written."""
    return parse_expand(query_params(app), "content")


def _content(content: Content, expand: tuple[str, ...]) -> dict[str, Any]:
    return ContentExpander(environment_id(app)).contents([content], expand)[0]


@app.post("/content", openapi_extensions=EXTENSION)
def create_content() -> returns.Content:
    from shared.http.models import ContentBody

    expand = _expand()
    body = parse_model(ContentBody, json_body(app))
    return _content(service.create(environment_id(app), body.name, body.type), expand)


@app.get(ONE)
def get_content(content_id: str) -> returns.Content:
    return _content(service.get(environment_id(app), content_id), _expand())


@app.patch(ONE, openapi_extensions=EXTENSION)
def update_content(content_id: str) -> returns.Content:
    from shared.http.models import ContentPatchBody

    expand = _expand()
    body = parse_model(ContentPatchBody, json_body(app))
    return _content(service.update(environment_id(app), content_id, body.name, body.type), expand)


@app.post(f"{ONE}/archive", openapi_extensions=EXTENSION)
def archive_content(content_id: str) -> returns.Content:
    from shared.http.models import Body

    expand = _expand()
    parse_model(Body, optional_json_body(app))  # no fields: any is a 400
    return _content(service.set_archived(environment_id(app), content_id, archived=True), expand)


@app.post(f"{ONE}/unarchive", openapi_extensions=EXTENSION)
def unarchive_content(content_id: str) -> returns.Content:
    from shared.http.models import Body

    expand = _expand()
    parse_model(Body, optional_json_body(app))
    return _content(service.set_archived(environment_id(app), content_id, archived=False), expand)


@app.patch(f"{ONE}/draft", openapi_extensions=EXTENSION)
def edit_draft(content_id: str) -> returns.ContentVersion:
    from shared.http.models import DraftBody

    env = environment_id(app)
    expand = parse_expand(query_params(app), "content_version")
    body = parse_model(DraftBody, json_body(app))
    return ContentExpander(env).versions(
        [service.edit_draft(env, content_id, body.edit())], expand
    )[0]


@app.post(f"{ONE}/publish", openapi_extensions=EXTENSION)
def publish_content(content_id: str) -> returns.Content:
    from shared.http.models import PublishBody

    expand = _expand()
    body = parse_model(PublishBody, optional_json_body(app))
    return _content(service.publish(environment_id(app), content_id, body.description), expand)


@app.get("/content")
def list_content() -> returns.ContentList:
    env = environment_id(app)
    params = query_params(app)
    query = parse_list_query(params, CONTENT_LIST)
    page = service.list_content(env, query)
    return list_object(
        ContentExpander(env).contents(page.items, query.expand),
        has_more=page.has_more,
        path=request_path(app),
        params=params,
        last_id=page.cursor(lambda c: c.id),
    )


@app.get("/content_versions/<version_id>")
def get_version(version_id: str) -> returns.ContentVersion:
    env = environment_id(app)
    expand = parse_expand(query_params(app), "content_version")
    return ContentExpander(env).versions([service.get_version(env, version_id)], expand)[0]


@app.get("/content_versions")
def list_versions() -> returns.ContentVersionList:
    env = environment_id(app)
    params = query_params(app)
    query = parse_list_query(params, VERSIONS_LIST)
    page = service.list_versions(env, query)
    return list_object(
        ContentExpander(env).versions(page.items, query.expand),
        has_more=page.has_more,
        path=request_path(app),
        params=params,
        last_id=page.cursor(lambda v: v.id),
    )


lambda_handler = lambda_handler_for(app)
