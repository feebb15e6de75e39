"""Purge jobs: what a deleted user or group left behind, removed by the cascade function.

A job is an item in the environment's purge partition; its stream record (INSERT) starts the
cascade. Jobs expire after 7 days (TTL).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.clock import now_iso
from shared.ids import sortable_id
from shared.store import dynamo, keys
from shared.store.bulk import delete_keys, query_pages

RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class PurgeJob:
    environment_id: str
    kind: str  # "user" | "group"
    object_id: str
    deleted_at: str


def record(environment_id: str, kind: str, object_id: str, deleted_at: str | None = None) -> None:
    expires = datetime.now(UTC) + RETENTION
    dynamo.client().put_item(
        TableName=dynamo.table_name(),
        Item=dynamo.to_item(
            {
                **keys.purge_job(environment_id, sortable_id()),
                "environment_id": environment_id,
                "kind": kind,
                "object_id": object_id,
                "deleted_at": deleted_at or now_iso(),
                "expires_at": int(expires.timestamp()),
            }
        ),
    )


def job_from_image(image: dict[str, Any]) -> PurgeJob | None:
    """The purge job in a (deserialized) stream image, if it is one."""
    if not keys.is_purge_job(image):
        return None
    return PurgeJob(
        environment_id=image["environment_id"],
        kind=image["kind"],
        object_id=image["object_id"],
        deleted_at=image["deleted_at"],
    )


def leftovers(job: PurgeJob) -> Iterator[list[dict[str, str]]]:
    """Keys of the items the object left behind (created before its delete), a Query page
    at a time: a user's partition, and the content sessions its history items name; a
    group's partition, its events and its memberships."""
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
    for index, partition in sources:
        pages = query_pages(
            index=index,
            partition=partition,
            filter_expression="created_at <= :deleted_at",
            filter_values={":deleted_at": job.deleted_at},
        )
        for page in pages:
            sessions = [
                keys.content_session(env, session_id)
                for item in page
                if job.kind == "user"
                and (session_id := keys.session_id_of_user_session(item["SK"]))
            ]
            yield [{"PK": item["PK"], "SK": item["SK"]} for item in page] + sessions


def delete(item_keys: list[dict[str, str]]) -> None:
    delete_keys(item_keys)
