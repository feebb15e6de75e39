"""Deletes, and the cascades behind them.

A delete removes the object and its memberships at once (so no expansion shows them), then
records a purge job. The job's stream record starts the cascade function, which removes the
rest (events, sessions: possibly tens of thousands of items) in batches, outside the API's
time limit. Only items created before the delete are purged, so an object re-created at once
under the same id keeps its new data. Every step is idempotent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.clock import now_iso
from shared.ids import sortable_id
from shared.store import dynamo, keys, memberships
from shared.store.attributed import Record
from shared.store.bulk import delete_keys, query_pages

PURGE_JOB_PREFIX = "PURGE#"
PURGE_JOB_RETENTION = timedelta(days=7)
# Time one page (up to 1 MB, a few thousand keys) takes to delete, with room to spare.
PURGE_PAGE_SECONDS = 30.0


@dataclass(frozen=True)
class PurgeJob:
    environment_id: str
    kind: str  # "user" | "group"
    object_id: str
    deleted_at: str


def delete_user(environment_id: str, user_id: str) -> None:
    dynamo.client().delete_item(
        TableName=dynamo.table_name(), Key=dynamo.to_item(keys.user(environment_id, user_id))
    )
    memberships.delete_records(environment_id, memberships.of_user(environment_id, user_id))
    _record_purge(environment_id, "user", user_id)


def delete_group(environment_id: str, group_id: str) -> None:
    dynamo.client().delete_item(
        TableName=dynamo.table_name(), Key=dynamo.to_item(keys.group(environment_id, group_id))
    )
    memberships.delete_records(environment_id, memberships.of_group(environment_id, group_id))
    _record_purge(environment_id, "group", group_id)


def delete_membership(environment_id: str, user_id: str, group_id: str) -> Record | None:
    return memberships.delete(environment_id, user_id, group_id)


def _record_purge(
    environment_id: str, kind: str, object_id: str, deleted_at: str | None = None
) -> None:
    expires = datetime.now(UTC) + PURGE_JOB_RETENTION
    dynamo.client().put_item(
        TableName=dynamo.table_name(),
        Item=dynamo.to_item(
            {
                "PK": keys.purge_jobs(environment_id),
                "SK": f"{PURGE_JOB_PREFIX}{sortable_id()}",
                "environment_id": environment_id,
                "kind": kind,
                "object_id": object_id,
                "deleted_at": deleted_at or now_iso(),
                "expires_at": int(expires.timestamp()),
            }
        ),
    )


def purge_job_from_image(image: dict[str, Any]) -> PurgeJob | None:
    """The purge job in a (deserialized) stream image, if it is one."""
    if not str(image.get("SK", "")).startswith(PURGE_JOB_PREFIX):
        return None
    return PurgeJob(
        environment_id=image["environment_id"],
        kind=image["kind"],
        object_id=image["object_id"],
        deleted_at=image["deleted_at"],
    )


@dataclass(frozen=True)
class PurgeProgress:
    removed: int
    finished: bool


def run_purge(job: PurgeJob, time_left: Callable[[], float] = lambda: math.inf) -> PurgeProgress:
    """Delete what the object left behind, a Query page at a time, while `time_left()` (in
    seconds) allows; an unfinished job is continued by `continue_purge`."""
    env, object_id = job.environment_id, job.object_id
    sources: list[tuple[str | None, str]]  # (index, partition)
    if job.kind == "user":
        sources = [(None, keys.user(env, object_id)["PK"])]
    else:
        sources = [
            (None, keys.group(env, object_id)["PK"]),
            ("GSI3", keys.group_events_listing(env, object_id)),
            ("GSI1", keys.group_members_listing(env, object_id)),
        ]
    removed = 0
    for index, partition in sources:
        pages = query_pages(
            index=index,
            partition=partition,
            filter_expression="created_at <= :deleted_at",
            filter_values={":deleted_at": job.deleted_at},
        )
        for page in pages:
            if time_left() < PURGE_PAGE_SECONDS:
                return PurgeProgress(removed, finished=False)
            delete_keys([{"PK": item["PK"], "SK": item["SK"]} for item in page])
            removed += len(page)
    return PurgeProgress(removed, finished=True)


def continue_purge(job: PurgeJob) -> None:
    """Record the job again; its stream record starts a fresh invocation where this one
    stopped (what was deleted is gone, so the new run reads only what is left)."""
    _record_purge(job.environment_id, job.kind, job.object_id, deleted_at=job.deleted_at)
