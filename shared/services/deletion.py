"""Deletes, and the cascades behind them.

A delete removes the object and its memberships at once (so no expansion shows them), and a
user's content session locks and search entries (so the same id made again can start
sessions and is found at once), then
records a purge job. The job's stream record starts the cascade function, which removes the
rest (events, sessions: possibly tens of thousands of items) in batches, outside the API's
time limit. Only items created before the delete are purged, so an object re-created at once
under the same id keeps its new data. Every step is idempotent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from shared.store import groups, memberships, purges, search, user_order, users
from shared.store.attributed import Record
from shared.store.parallel import run_all
from shared.store.purges import PurgeJob

# Time one page (up to 1 MB, a few thousand keys) takes to delete, with room to spare.
PURGE_PAGE_SECONDS = 30.0

# The cascade function reads jobs from stream images through this service.
purge_job_from_image = purges.job_from_image


def delete_user(environment_id: str, user_id: str) -> None:
    # The content half's rules load with a delete, not with every cold start of the users
    # and cascade functions.
    from shared.store import sessions

    users.delete(environment_id, user_id)
    run_all(
        [
            lambda: memberships.delete_records(
                environment_id, memberships.of_user(environment_id, user_id)
            ),
            lambda: sessions.release_locks(environment_id, user_id),
            lambda: search.delete_entries(environment_id, user_id),
            lambda: user_order.delete_entries(environment_id, user_id),
        ]
    )
    purges.record(environment_id, "user", user_id)


def delete_group(environment_id: str, group_id: str) -> None:
    groups.delete(environment_id, group_id)
    memberships.delete_records(environment_id, memberships.of_group(environment_id, group_id))
    purges.record(environment_id, "group", group_id)


def delete_membership(environment_id: str, user_id: str, group_id: str) -> Record | None:
    return memberships.delete(environment_id, user_id, group_id)


@dataclass(frozen=True)
class PurgeProgress:
    removed: int
    finished: bool


def run_purge(job: PurgeJob, time_left: Callable[[], float] = lambda: math.inf) -> PurgeProgress:
    """Delete what the object left behind, a Query page at a time, while `time_left()` (in
    seconds) allows; an unfinished job is continued by `continue_purge`."""
    removed = 0
    for page in purges.leftovers(job):
        if time_left() < PURGE_PAGE_SECONDS:
            return PurgeProgress(removed, finished=False)
        purges.delete(page)
        removed += len(page)
    return PurgeProgress(removed, finished=True)


def continue_purge(job: PurgeJob) -> None:
    """Record the job again; its stream record starts a fresh invocation where this one
    stopped (what was deleted is gone, so the new run reads only what is left)."""
    purges.record(job.environment_id, job.kind, job.object_id, deleted_at=job.deleted_at)
