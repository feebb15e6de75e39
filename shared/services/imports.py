"""An import job's chunks: first count the file's rows (the progress's `total`), then write
them, a chunk of rows at a time, each row as the upsert its request would be
(shared/services/bulk.py), the bad ones reported with their line and why.

Where the next chunk starts is the job's `position`: the phase, the byte offset and the
number of lines read so far (and a CSV file's columns), so a chunk reads the file from there
with a ranged GET and never holds more than a chunk of it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from shared.clock import now_iso
from shared.domain import transfers as rules
from shared.domain.attributes import DataType
from shared.domain.errors import InvalidInput
from shared.domain.limits import MAX_BODY_BYTES
from shared.domain.transfers import Column, Format, JobFailed, ObjectType, RawRow, Status
from shared.http.errors import described
from shared.observability import logger
from shared.services import bulk
from shared.store import jobs as store
from shared.store.jobs import Job, RowError
from shared.transfers import files

CHUNK_ROWS = 500  # rows written a chunk (16 at a time): a few seconds
COUNT_BYTES = 64 * 1024 * 1024  # bytes counted a chunk


def run_chunk(job: Job) -> Job | None:
    """Count or import the next chunk; the job as recorded after it (None: another
    invocation recorded this step first)."""
    if job.position.get("phase", "counting") == "counting":
        return _count(job)
    return _import(job)


def _rows(job: Job, start: int, lines_read: int) -> Generator[RawRow, None, None]:
    chunks = files.read_from(files.upload_key(job.environment_id, job.id), start)
    try:
        yield from rules.raw_rows(
            chunks,
            start=start,
            lines_read=lines_read,
            is_csv=job.format is Format.CSV,
            max_bytes=MAX_BODY_BYTES,
        )
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _count(job: Job) -> Job | None:
    if files.size(files.upload_key(job.environment_id, job.id)) is None:
        raise JobFailed("The uploaded file is gone (files are kept 7 days); import it again.")
    start = int(job.position.get("offset", 0))
    counted = int(job.position.get("counted", 0))
    lines_read = int(job.position.get("lines", 0))
    header_pending = job.format is Format.CSV and start == 0
    end = start
    rows = _rows(job, start, lines_read)
    try:
        for row in rows:
            if header_pending:
                header_pending = False
            else:
                counted += 1
            end, lines_read = row.end, row.lines_read
            if end - start >= COUNT_BYTES:
                position = {"phase": "counting", "offset": end, "counted": counted}
                return store.advance(job, position={**position, "lines": lines_read})
    finally:
        rows.close()
    return store.advance(
        job, total=counted, position={"phase": "importing", "offset": 0, "lines": 0}
    )


def _import(job: Job) -> Job | None:
    position = dict(job.position)
    offset, lines_read = int(position["offset"]), int(position["lines"])
    columns = [Column(c["name"], _type(c.get("data_type"))) for c in position.get("columns", [])]
    needs_header = job.format is Format.CSV and not columns
    parsed: list[tuple[int, Any]] = []  # (line, body)
    errors: list[RowError] = []
    finished = True
    rows = _rows(job, offset, lines_read)
    try:
        for row in rows:
            offset, lines_read = row.end, row.lines_read
            if needs_header:
                columns = _header(row)
                needs_header = False
                continue
            raw: dict[str, Any] = {}
            try:
                raw = _raw(row, columns)
                parsed.append((row.line, rules.import_body(job.object_type, raw)))
            except InvalidInput as refused:
                errors.append(
                    RowError(row.line, rules.row_id(raw), "invalid_request", str(refused))
                )
            if len(parsed) + len(errors) >= CHUNK_ROWS:
                finished = False
                break
    finally:
        rows.close()

    bodies = [body for _, body in parsed]
    outcomes = (
        bulk.upsert_users(job.environment_id, bodies)
        if job.object_type is ObjectType.USERS
        else bulk.upsert_groups(job.environment_id, bodies)
    )
    for (line, body), outcome in zip(parsed, outcomes, strict=True):
        if outcome.error is not None:
            errors.append(_row_error(line, rules.row_id(body), outcome.error))
    if errors:
        store.put_errors(job, errors)
    imported = sum(1 for outcome in outcomes if outcome.value is not None)
    changes: dict[str, Any] = {
        "done": job.done + imported,
        "failed": job.failed + len(errors),
        "position": {
            "phase": "importing",
            "offset": offset,
            "lines": lines_read,
            "columns": [{"name": c.name, "data_type": c.data_type} for c in columns],
        },
    }
    if finished:
        changes |= {
            "status": Status.SUCCEEDED.value,
            "finished_at": now_iso(),
            "total": changes["done"] + changes["failed"],
        }
    return store.advance(job, **changes)


def _type(name: str | None) -> DataType | None:
    return DataType(name) if name else None


def _header(row: RawRow) -> list[Column]:
    try:
        if row.text is None:
            raise InvalidInput(row.error or "The header cannot be read.")
        return rules.csv_header(rules.csv_record(row.text))
    except InvalidInput as refused:
        raise JobFailed(f"Line {row.line}: {refused}") from None


def _raw(row: RawRow, columns: list[Column]) -> dict[str, Any]:
    """The row as an object (a CSV row as the body it stands for)."""
    if row.text is None:
        raise InvalidInput(row.error or "The row cannot be read.")
    if columns:
        return rules.csv_body(columns, rules.csv_record(row.text))
    return rules.ndjson_row(row.text)


def _row_error(line: int, object_id: str | None, error: Exception) -> RowError:
    found = described(error)
    if found is None:
        logger.exception("An import row failed unexpectedly", exc_info=error)
        return RowError(line, object_id, "internal_error", "Something went wrong on our end.")
    _, code, message = found
    return RowError(line, object_id, code, message)
