"""Content sessions: the reference's reads and delete, plus the session runtime (an
extension): start a session, then record its progress, answers, completed tasks, launcher
activation, completion and end."""

from __future__ import annotations

from typing import Any

from shared.domain.objects import deleted_object
from shared.domain.sessions import Session
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
from shared.services import sessions as service
from shared.services.session_expansion import SessionExpander

# Each route imports the body model it parses: pydantic loads with the first request that
# parses a body, not at cold start.
app = create_app()

SESSIONS_LIST = ListSpec(
    object_type="content_session",
    order_fields=frozenset({"created_at", "last_activity_at"}),
    filters=frozenset({"content_id", "user_id"}),
    id_filters=frozenset({"content_id", "user_id"}),
)
ONE = "/content_sessions/<session_id>"


def _expand() -> tuple[str, ...]:
    """The request's `expand` of a session, checked before anything is written."""
    return parse_expand(query_params(app), "content_session")


def _session(session: Session, expand: tuple[str, ...]) -> dict[str, Any]:
    return SessionExpander(environment_id(app)).sessions([session], expand)[0]


@app.post("/content_sessions", openapi_extensions=EXTENSION)
def start_session() -> returns.ContentSession:
    from shared.http.models import StartSessionBody

    expand = _expand()
    body = parse_model(StartSessionBody, json_body(app))
    return _session(service.start(environment_id(app), body), expand)


@app.get(ONE)
def get_session(session_id: str) -> returns.ContentSession:
    return _session(service.get(environment_id(app), session_id), _expand())


@app.delete(ONE)
def delete_session(session_id: str) -> returns.Deleted:
    service.delete(environment_id(app), session_id)
    return deleted_object("content_session", session_id)


@app.post(f"{ONE}/progress", openapi_extensions=EXTENSION)
def record_progress(session_id: str) -> returns.ContentSession:
    from shared.http.models import ProgressBody

    expand = _expand()
    body = parse_model(ProgressBody, json_body(app))
    return _session(service.record_progress(environment_id(app), session_id, body.progress), expand)


@app.post(f"{ONE}/answers", openapi_extensions=EXTENSION)
def answer(session_id: str) -> returns.ContentSession:
    from shared.http.models import AnswerBody

    expand = _expand()
    body = parse_model(AnswerBody, json_body(app))
    return _session(service.answer(environment_id(app), session_id, body), expand)


@app.post(f"{ONE}/tasks/<task_cvid>/complete", openapi_extensions=EXTENSION)
def complete_task(session_id: str, task_cvid: str) -> returns.ContentSession:
    from shared.http.models import Body

    expand = _expand()
    parse_model(Body, optional_json_body(app))  # no fields: any is a 400
    return _session(service.complete_task(environment_id(app), session_id, task_cvid), expand)


@app.post(f"{ONE}/activate_launcher", openapi_extensions=EXTENSION)
def activate_launcher(session_id: str) -> returns.ContentSession:
    from shared.http.models import Body

    expand = _expand()
    parse_model(Body, optional_json_body(app))
    return _session(service.activate_launcher(environment_id(app), session_id), expand)


@app.post(f"{ONE}/complete", openapi_extensions=EXTENSION)
def complete(session_id: str) -> returns.ContentSession:
    from shared.http.models import Body

    expand = _expand()
    parse_model(Body, optional_json_body(app))
    return _session(service.complete(environment_id(app), session_id), expand)


@app.post(f"{ONE}/end", openapi_extensions=EXTENSION)
def end(session_id: str) -> returns.ContentSession:
    from shared.http.models import Body

    expand = _expand()
    parse_model(Body, optional_json_body(app))
    return _session(service.end(environment_id(app), session_id), expand)


@app.get("/content_sessions")
def list_sessions() -> returns.ContentSessionList:
    env = environment_id(app)
    params = query_params(app)
    query = parse_list_query(params, SESSIONS_LIST)
    page = service.list_sessions(env, query)
    return list_object(
        SessionExpander(env).sessions(page.items, query.expand),
        has_more=page.has_more,
        path=request_path(app),
        params=params,
        last_id=page.cursor(lambda s: s.id),
    )


lambda_handler = lambda_handler_for(app)
