"""An export job's chunks: read the objects in creation order (the condition applied as the
lists apply it), write them as rows, and keep the file in S3 as it grows.

A chunk reads until it holds a part's worth of rows (PART_BYTES) or has examined
EXAMINE_PER_CHUNK objects, then stores what it wrote before recording its progress: a full
part of the multipart upload, or, for less, the rows so far in a carry object the next chunk
starts from. The last chunk writes the file whole (small exports) or its last part, and
completes the upload. The position is the last object read: index keys for users and groups
(no anchor read, so deleting it meanwhile changes nothing), ids for events and sessions
(time-ordered, their own cursor).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from shared.clock import now_iso
from shared.domain import conditions
from shared.domain import transfers as rules
from shared.domain.limits import MAX_ATTRIBUTES_PER_OBJECT
from shared.domain.objects import event_object, group_object, user_object
from shared.domain.transfers import Format, JobFailed, ObjectType, Status
from shared.http.listing import ListQuery, OrderField
from shared.services import finder
from shared.store import definitions, events, groups, users
from shared.store import jobs as store
from shared.store.jobs import Job
from shared.transfers import files
from shared.transfers.files import PART_BYTES

EXAMINE_PER_CHUNK = 10_000
PAGE_SIZE = 100
CONTENT_TYPES = {Format.NDJSON: "application/x-ndjson", Format.CSV: "text/csv"}
# Definitions an export's CSV header may have: a column each.
MAX_CSV_COLUMNS = MAX_ATTRIBUTES_PER_OBJECT

# A page of objects (as the API shows them) and the position after it.
Pages = Iterator[tuple[list[dict[str, Any]], Any]]


def file_key(job: Job) -> str:
    return files.export_key(job.environment_id, job.id, job.format.value)


def run_chunk(job: Job) -> Job | None:
    position = dict(job.position)
    key = file_key(job)
    buffer = bytearray(files.get(files.carry_key(key)) if position.get("carry") else b"")
    columns: list[str] = position.get("columns") or []
    if not position.get("begun"):
        if job.format is Format.CSV:
            columns = _csv_columns(job)
            buffer += rules.csv_line(columns)
        position["begun"] = True
    exported = 0
    examined = 0
    finished = True
    after = position.get("after")
    for page, page_end in _pages(job, after):
        examined += PAGE_SIZE
        for obj in page:
            buffer += (
                rules.csv_line(rules.csv_cells(job.object_type, columns, obj))
                if job.format is Format.CSV
                else rules.ndjson_line(obj)
            )
        exported += len(page)
        after = page_end
        if len(buffer) >= PART_BYTES or examined >= EXAMINE_PER_CHUNK:
            finished = False
            break
    position |= {"after": after, "columns": columns, "carry": False}
    content_type = CONTENT_TYPES[job.format]
    parts = int(position.get("parts", 0))
    if finished and not parts:
        files.put(key, bytes(buffer), content_type)
    elif finished or len(buffer) >= PART_BYTES:
        upload_id = position.get("upload_id") or files.start_parts(key, content_type)
        files.put_part(key, upload_id, parts + 1, bytes(buffer))
        position |= {"upload_id": upload_id, "parts": parts + 1}
        if finished:
            files.finish_parts(key, upload_id)
    else:
        files.put(files.carry_key(key), bytes(buffer), content_type)
        position["carry"] = True
    done = job.done + exported
    changes: dict[str, Any] = {"done": done, "position": position}
    if finished:
        changes |= {"status": Status.SUCCEEDED.value, "finished_at": now_iso(), "total": done}
    return store.advance(job, **changes)


def _csv_columns(job: Job) -> list[str]:
    if job.object_type not in rules.IMPORTABLE:
        return rules.csv_columns(job.object_type, {})
    scope = "user" if job.object_type is ObjectType.USERS else "group"
    types = {
        d.name: d.data_type
        for d in definitions.attribute_definitions(job.environment_id)
        if d.scope == scope
    }
    if len(types) > MAX_CSV_COLUMNS:
        raise JobFailed(
            f"The {job.object_type.value} have {len(types):,} attributes, more than a CSV "
            f"export's {MAX_CSV_COLUMNS:,} columns; export NDJSON."
        )
    return rules.csv_columns(job.object_type, types)


def _pages(job: Job, after: Any) -> Pages:
    env = job.environment_id
    if job.object_type is ObjectType.USERS:
        condition = finder.condition_of(env, job.condition)
        for records, position in users.walk(env, after=after, page_size=PAGE_SIZE):
            matching = finder.users_matching(env, condition, records)
            yield [user_object(r) for r in matching], position
    elif job.object_type is ObjectType.GROUPS:
        condition = finder.condition_of(env, job.condition)
        for records, position in groups.walk(env, after=after, page_size=PAGE_SIZE):
            yield [group_object(r) for r in finder.groups_matching(condition, records)], position
    elif job.object_type is ObjectType.EVENTS:
        yield from _by_id(job, after, _events_page)
    else:
        yield from _by_id(job, after, _sessions_page)


def _events_page(env: str, after: str | None) -> tuple[list[dict[str, Any]], str | None, bool]:
    page = events.list_page(env, limit=PAGE_SIZE, starting_after=after, descending=False)
    return [event_object(e) for e in page.items], page.cursor(lambda e: e.id), page.has_more


def _sessions_page(env: str, after: str | None) -> tuple[list[dict[str, Any]], str | None, bool]:
    # The content half loads with the first sessions export, not with the function.
    from shared.domain.session_objects import session_object
    from shared.services import sessions as sessions_service

    query = ListQuery(
        limit=PAGE_SIZE, starting_after=after, order_by=(OrderField("created_at"),), expand=()
    )
    page = sessions_service.list_sessions(env, query)
    return [session_object(s) for s in page.items], page.cursor(lambda s: s.id), page.has_more


def _by_id(
    job: Job,
    after: str | None,
    read: Callable[[str, str | None], tuple[list[dict[str, Any]], str | None, bool]],
) -> Pages:
    """Objects whose ids are their creation order (events, sessions), the condition tested on
    each as exported (its fields, then its attributes)."""
    condition = (
        conditions.parse_condition_text(job.condition) if job.condition is not None else None
    )
    while True:
        objects, cursor, more = read(job.environment_id, after)
        if condition is not None:
            objects = [o for o in objects if conditions.evaluate(condition, rules.object_lookup(o))]
        after = cursor or after
        yield objects, after
        if not more:
            return
