"""Import and export jobs (an extension): create them, start an import once its file is
uploaded, follow their progress, list an import's bad rows."""

from __future__ import annotations

import json

from shared.domain.transfers import Kind
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
from shared.http.listing import ListSpec, list_object, parse_list_query
from shared.http.returns import EXTENSION
from shared.services import jobs

# Each route imports the body model it parses: pydantic loads with the first request that
# parses a body, not at cold start.
app = create_app()

ROW_ERRORS = ListSpec(object_type="import_row_error", order_fields=frozenset(), opaque_cursor=True)


@app.post("/imports", openapi_extensions=EXTENSION)
def create_import() -> returns.ImportJob:
    from shared.http.models import ImportBody

    body = parse_model(ImportBody, json_body(app))
    return jobs.job_object(jobs.create_import(environment_id(app), body.object_type, body.format))


@app.get("/imports/<job_id>", openapi_extensions=EXTENSION)
def get_import(job_id: str) -> returns.ImportJob:
    return jobs.job_object(jobs.get(environment_id(app), job_id, Kind.IMPORT))


@app.post("/imports/<job_id>/start", openapi_extensions=EXTENSION)
def start_import(job_id: str) -> returns.ImportJob:
    from shared.http.models import Body

    parse_model(Body, optional_json_body(app))  # no fields: any is a 400
    return jobs.job_object(jobs.start_import(environment_id(app), job_id))


@app.get("/imports/<job_id>/errors", openapi_extensions=EXTENSION)
def list_row_errors(job_id: str) -> returns.ImportRowErrorList:
    params = query_params(app)
    query = parse_list_query(params, ROW_ERRORS)
    page = jobs.row_errors(
        environment_id(app), job_id, limit=query.limit, starting_after=query.starting_after
    )
    return list_object(
        [jobs.row_error_object(error) for error in page.items],
        has_more=page.has_more,
        path=request_path(app),
        params=params,
        last_id=page.cursor(lambda error: str(error.row)),
    )


@app.post("/exports", openapi_extensions=EXTENSION)
def create_export() -> returns.ExportJob:
    from shared.http.models import ExportBody

    body = parse_model(ExportBody, json_body(app))
    condition = json.dumps(body.condition) if body.condition is not None else None
    job = jobs.create_export(environment_id(app), body.object_type, body.format, condition)
    return jobs.job_object(job)


@app.get("/exports/<job_id>", openapi_extensions=EXTENSION)
def get_export(job_id: str) -> returns.ExportJob:
    return jobs.job_object(jobs.get(environment_id(app), job_id, Kind.EXPORT))


lambda_handler = lambda_handler_for(app)
