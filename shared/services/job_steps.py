"""Running import and export jobs (the jobs function): one step per queue message.

A step runs chunks (a few hundred rows of an import, a few thousand objects of an export),
each recorded with the job's progress as it finishes, for as long as the invocation has time,
then queues the next step: a job of any size goes through invocations of bounded work, like
the cascade's purges. Each chunk's record is conditional on the step number it read, so a
duplicate message runs nothing twice in the job's accounting, and a chunk's work is idempotent
(rows are upserts, export parts have fixed numbers), so running one again changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from shared.clock import now_iso
from shared.domain.transfers import FINISHED, JobFailed, Kind, Status
from shared.observability import logger
from shared.store import jobs as store
from shared.store.jobs import Job
from shared.transfers import steps
from shared.transfers.steps import StepMessage

# A chunk starts only while this much of the invocation is left (a chunk takes seconds).
CHUNK_RESERVE_SECONDS = 60.0
# And at most this many chunks a step: the local stack's jobs have no deadline, and a bound
# keeps each step's work (and a retry's) bounded there too.
MAX_CHUNKS_PER_STEP = 8


def run_step(
    message: StepMessage,
    *,
    time_left: Callable[[], float] = lambda: math.inf,
    final_attempt: bool = False,
) -> None:
    """One step of a job (a queue message): chunks while time allows, then the next step."""
    job = store.get(message.environment_id, message.job_id, consistent=True)
    if job is None or job.step != message.step or job.status in FINISHED:
        return  # a duplicate, or a step another invocation ran
    if job.status is not Status.RUNNING:
        job = store.advance(job, status=Status.RUNNING.value, started_at=now_iso())
        if job is None:
            return
    run_chunk = _chunk_runner(job.kind)
    for _ in range(MAX_CHUNKS_PER_STEP):
        try:
            advanced = run_chunk(job)
        except JobFailed as failure:
            _fail(job, failure.code, str(failure))
            return
        except Exception:
            if job.step != message.step:
                # Progress was recorded since the message: a retry of it would find the job
                # moved on, so the next step continues from what was recorded.
                logger.exception("A job's chunk failed; its next step retries it")
                break
            if final_attempt:
                logger.exception("A job's step failed for the last time")
                _fail(job, "internal_error", "The job failed on our end; start it again.")
                return
            raise
        if advanced is None or advanced.status in FINISHED:
            return
        job = advanced
        if time_left() < CHUNK_RESERVE_SECONDS:
            break
    try:
        steps.send(StepMessage(job.environment_id, job.id, job.step))
    except Exception:
        logger.exception("Could not queue a job's next step")
        _fail(job, "service_unavailable", "The job could not continue; start it again.")


def _chunk_runner(kind: Kind) -> Callable[[Job], Job | None]:
    """Imports and exports load with their first job, not with every cold start."""
    if kind is Kind.IMPORT:
        from shared.services import imports

        return imports.run_chunk
    from shared.services import exports

    return exports.run_chunk


def _fail(job: Job, code: str, message: str) -> None:
    store.advance(
        job,
        status=Status.FAILED.value,
        finished_at=now_iso(),
        error_code=code,
        error_message=message,
    )
