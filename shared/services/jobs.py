"""Import and export jobs as the API shows them: creating them, starting an import, reading
their progress. The jobs function runs them (job_steps.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.clock import format_timestamp
from shared.domain import conditions
from shared.domain.errors import InvalidInput, Unavailable, Unknown
from shared.domain.limits import MAX_IMPORT_FILE_BYTES
from shared.domain.transfers import (
    IMPORTABLE,
    Format,
    Kind,
    ObjectType,
    Status,
    check_condition_size,
)
from shared.ids import sortable_id
from shared.observability import logger
from shared.store import jobs as store
from shared.store.jobs import Job, RowError
from shared.store.pages import Page
from shared.transfers import files, steps
from shared.transfers.steps import StepMessage

JOB_LIFETIME = timedelta(days=7)  # the job, its bad rows and its files (the bucket's rule)
UPLOAD_URL_SECONDS = 3_600
DOWNLOAD_URL_SECONDS = 3_600


def create_import(environment_id: str, object_type: ObjectType, file_format: Format) -> Job:
    if object_type not in IMPORTABLE:
        names = ", ".join(t.value for t in IMPORTABLE)
        raise InvalidInput(f"Invalid `object_type`: imports take {names}.")
    return _create(environment_id, Kind.IMPORT, object_type, file_format, None)


def create_export(
    environment_id: str, object_type: ObjectType, file_format: Format, condition: str | None
) -> Job:
    if condition is not None:
        check_condition_size(condition)
        if object_type in IMPORTABLE:
            # As the lists parse it; the finder loads with the first such export.
            from shared.services import finder

            finder.condition_of(environment_id, condition)
        else:
            conditions.parse_condition_text(condition)
    job = _create(environment_id, Kind.EXPORT, object_type, file_format, condition)
    _queue(job)
    return job


def _create(
    environment_id: str,
    kind: Kind,
    object_type: ObjectType,
    file_format: Format,
    condition: str | None,
) -> Job:
    now = datetime.now(UTC)
    job = Job(
        environment_id=environment_id,
        id=sortable_id(),
        kind=kind,
        object_type=object_type,
        format=file_format,
        status=Status.AWAITING_UPLOAD if kind is Kind.IMPORT else Status.QUEUED,
        created_at=format_timestamp(now),
        expires_at=int((now + JOB_LIFETIME).timestamp()),
        condition=condition,
    )
    store.create(job)
    return job


def get(environment_id: str, job_id: str, kind: Kind) -> Job:
    job = store.get(environment_id, job_id)
    if job is None or job.kind is not kind:
        raise Unknown(f"No {kind.value} job with id {job_id!r}.")
    return job


def start_import(environment_id: str, job_id: str) -> Job:
    """Queue an import whose file is uploaded. Starting again changes nothing (a job already
    queued is queued once more: a lost message cannot leave it waiting)."""
    job = get(environment_id, job_id, Kind.IMPORT)
    if job.status is Status.AWAITING_UPLOAD:
        size = files.size(files.upload_key(environment_id, job_id))
        if size is None:
            raise InvalidInput(
                f"Invalid request: import {job_id!r} has no file yet; PUT it to the job's "
                "`upload_url` first."
            )
        if size > MAX_IMPORT_FILE_BYTES:
            raise InvalidInput(
                f"Invalid request: the file has {size:,} bytes; an import takes at most "
                f"{MAX_IMPORT_FILE_BYTES:,}."
            )
        queued = store.advance(job, status=Status.QUEUED.value)
        job = queued or get(environment_id, job_id, Kind.IMPORT)
    if job.status is Status.QUEUED:
        _queue(job)
    return job


def _queue(job: Job) -> None:
    try:
        steps.send(StepMessage(job.environment_id, job.id, job.step))
    except Exception as error:
        logger.exception("Could not queue a job's step")
        raise Unavailable("jobs queue") from error


def upload_url(job: Job) -> tuple[str, str]:
    """Where the client PUTs an import's file, and until when."""
    expires = datetime.now(UTC) + timedelta(seconds=UPLOAD_URL_SECONDS)
    key = files.upload_key(job.environment_id, job.id)
    return files.upload_url(key, UPLOAD_URL_SECONDS), format_timestamp(expires)


def download_url(job: Job) -> tuple[str, str]:
    """Where the client GETs a finished export, and until when."""
    expires = datetime.now(UTC) + timedelta(seconds=DOWNLOAD_URL_SECONDS)
    key = files.export_key(job.environment_id, job.id, job.format.value)
    filename = key.rsplit("/", 1)[-1]
    return files.download_url(key, DOWNLOAD_URL_SECONDS, filename), format_timestamp(expires)


def row_errors(
    environment_id: str, job_id: str, *, limit: int, starting_after: str | None
) -> Page[RowError]:
    get(environment_id, job_id, Kind.IMPORT)
    after: int | None = None
    if starting_after is not None:
        if not starting_after.isdigit():
            raise InvalidInput("Invalid `starting_after`: a row number (the last row listed).")
        after = int(starting_after)
    return store.list_errors(environment_id, job_id, limit=limit, starting_after=after)


def job_object(job: Job) -> dict[str, Any]:
    """An import or export job as the API shows it (an extension), with a fresh upload URL
    while an import waits for its file and a fresh download URL once an export is done."""
    waiting = job.status is Status.AWAITING_UPLOAD
    upload = upload_url(job) if waiting else (None, None)
    ready = job.kind is Kind.EXPORT and job.status is Status.SUCCEEDED
    download = download_url(job) if ready else (None, None)
    obj: dict[str, Any] = {
        "id": job.id,
        "object": job.kind.value,
        "object_type": job.object_type.value,
        "format": job.format.value,
        "status": job.status.value,
        "progress": {"done": job.done, "failed": job.failed, "total": job.total},
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "expires_at": format_timestamp(datetime.fromtimestamp(job.expires_at, UTC)),
        "error": (
            {"code": job.error_code, "message": job.error_message} if job.error_code else None
        ),
    }
    if job.kind is Kind.IMPORT:
        obj |= {"upload_url": upload[0], "upload_url_expires_at": upload[1]}
    else:
        condition = json.loads(job.condition) if job.condition is not None else None
        obj |= {
            "condition": condition,
            "download_url": download[0],
            "download_url_expires_at": download[1],
        }
    return obj


def row_error_object(error: RowError) -> dict[str, Any]:
    return {
        "id": str(error.row),
        "object": "import_row_error",
        "row": error.row,
        "object_id": error.object_id,
        "error": {"code": error.code, "message": error.message},
    }
