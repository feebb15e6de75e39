"""Deletes, and the cascades behind them.

A delete removes the object and its memberships at once (so no expansion shows them), then
records a purge job. The job's stream record starts the cascade function, which removes the
rest (events, sessions: possibly tens of thousands of items) in batches, outside the API's
time limit. Only items created before the delete are purged, so an object re-created at once
under the same id keeps its new data. Every step is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.clock import now_iso
from shared.ids import sortable_id
from shared.store import dynamo, keys, memberships
from shared.store.attributed import Record
from shared.store.bulk import delete_keys, query_all

PURGE_JOB_PREFIX = "PURGE#"
PURGE_JOB_RETENTION = timedelta(days=7)


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


def _record_purge(environment_id: str, kind: str, object_id: str) -> None:
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
                "deleted_at": now_iso(),
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


def run_purge(job: PurgeJob) -> int:
    """Delete what the object left behind; returns how many items were removed."""
    env, object_id = job.environment_id, job.object_id
    older = "created_at <= :deleted_at"
    values = {":deleted_at": job.deleted_at}
    if job.kind == "user":
        owned = query_all(
            partition=keys.user(env, object_id)["PK"],
            filter_expression=older,
            filter_values=values,
        )
    else:
        owned = [
            *query_all(
                partition=keys.group(env, object_id)["PK"],
                filter_expression=older,
                filter_values=values,
            ),
            *query_all(
                index="GSI3",
                partition=keys.group_events_listing(env, object_id),
                filter_expression=older,
                filter_values=values,
            ),
            *query_all(
                index="GSI1",
                partition=keys.group_members_listing(env, object_id),
                filter_expression=older,
                filter_values=values,
            ),
        ]
    delete_keys([{"PK": item["PK"], "SK": item["SK"]} for item in owned])
    return len(owned)
