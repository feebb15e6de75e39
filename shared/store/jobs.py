"""Import and export jobs, and the bad rows of imports.

- A job: PK `E#<env>#JOB#<id>`, SK `JOB`; GSI1 `E#<env>#JOBS` / `<created_at>#<id>`. Its
  progress (`done`, `failed`, `total`), where its next step starts (`position`, a map) and the
  number of that step (`step`). Every step's write is conditional on `step` being the one it
  read, so of two invocations running the same step (a duplicate message) one records it.
- A bad row: the job's PK, SK `ERR#<line number, 12 digits>`: the row's id and why.

Both expire with the job (`expires_at`, 7 days), as the bucket's files do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.domain.transfers import Format, Kind, ObjectType, Status
from shared.store import dynamo, keys
from shared.store.bulk import put_items
from shared.store.pages import Page, query_page


@dataclass(frozen=True)
class Job:
    environment_id: str
    id: str
    kind: Kind
    object_type: ObjectType
    format: Format
    status: Status
    created_at: str
    expires_at: int
    condition: str | None = None  # an export's condition, as JSON text
    started_at: str | None = None
    finished_at: str | None = None
    done: int = 0
    failed: int = 0
    total: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    position: dict[str, Any] = field(default_factory=dict)
    step: int = 0


@dataclass(frozen=True)
class RowError:
    row: int
    object_id: str | None
    code: str
    message: str


def _item(job: Job) -> dict[str, Any]:
    item: dict[str, Any] = {
        **keys.transfer_job(job.environment_id, job.id),
        "GSI1PK": keys.transfer_jobs_listing(job.environment_id),
        "GSI1SK": keys.created_order(job.created_at, job.id),
        "id": job.id,
        "environment_id": job.environment_id,
        "kind": job.kind.value,
        "object_type": job.object_type.value,
        "format": job.format.value,
        "status": job.status.value,
        "created_at": job.created_at,
        "expires_at": job.expires_at,
        "condition": job.condition,
        "done": job.done,
        "failed": job.failed,
        "position": job.position,
        "step": job.step,
    }
    return {k: v for k, v in item.items() if v is not None}


def _job(item: dict[str, Any]) -> Job:
    return Job(
        environment_id=item["environment_id"],
        id=item["id"],
        kind=Kind(item["kind"]),
        object_type=ObjectType(item["object_type"]),
        format=Format(item["format"]),
        status=Status(item["status"]),
        created_at=item["created_at"],
        expires_at=int(item["expires_at"]),
        condition=item.get("condition"),
        started_at=item.get("started_at"),
        finished_at=item.get("finished_at"),
        done=int(item.get("done", 0)),
        failed=int(item.get("failed", 0)),
        total=int(item["total"]) if item.get("total") is not None else None,
        error_code=item.get("error_code"),
        error_message=item.get("error_message"),
        position=dict(item.get("position") or {}),
        step=int(item.get("step", 0)),
    )


def create(job: Job) -> None:
    dynamo.client().put_item(
        TableName=dynamo.table_name(),
        Item=dynamo.to_item(_item(job)),
        ConditionExpression="attribute_not_exists(PK)",
    )


def get(environment_id: str, job_id: str, *, consistent: bool = False) -> Job | None:
    found = dynamo.client().get_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.transfer_job(environment_id, job_id)),
        ConsistentRead=consistent,
    )
    return _job(dynamo.from_item(found["Item"])) if "Item" in found else None


def advance(job: Job, **changes: Any) -> Job | None:
    """Record a step: `changes` (None removes a field) and the next step number, if the job
    is still at `job.step` and unfinished. Returns the job as it now is, or None when another
    invocation recorded this step (or the job finished) first."""
    values = {**changes, "step": job.step + 1}
    sets = [f"#{k} = :{k}" for k, v in values.items() if v is not None]
    removals = [f"#{k}" for k, v in values.items() if v is None]
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removals) if removals else "")
    names = {f"#{k}": k for k in values}
    names["#status"] = "status"
    try:
        result = dynamo.client().update_item(
            TableName=dynamo.table_name(),
            Key=dynamo.to_item(keys.transfer_job(job.environment_id, job.id)),
            UpdateExpression=expression,
            ConditionExpression="#step = :at AND #status IN (:queued, :running, :waiting)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=dynamo.to_item(
                {
                    **{f":{k}": v for k, v in values.items() if v is not None},
                    ":at": job.step,
                    ":queued": Status.QUEUED.value,
                    ":running": Status.RUNNING.value,
                    ":waiting": Status.AWAITING_UPLOAD.value,
                }
            ),
            ReturnValues="ALL_NEW",
        )
    except Exception as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    return _job(dynamo.from_item(result["Attributes"]))


def put_errors(job: Job, errors: list[RowError]) -> None:
    """The bad rows of a step (written again by a repeated step: the same items)."""
    put_items(
        [
            {
                **keys.job_error(job.environment_id, job.id, error.row),
                "row": error.row,
                "object_id": error.object_id,
                "code": error.code,
                "message": error.message,
                "expires_at": job.expires_at,
            }
            for error in errors
        ]
    )


def list_errors(
    environment_id: str, job_id: str, *, limit: int, starting_after: int | None
) -> Page[RowError]:
    """A job's bad rows in row order, after row `starting_after`."""
    partition = keys.transfer_job(environment_id, job_id)["PK"]
    start = (
        {"PK": partition, "SK": keys.job_error_sort_key(starting_after)}
        if starting_after is not None
        else None
    )
    page = query_page(
        index=None,
        partition=partition,
        partition_attribute="PK",
        sort_prefix=keys.JOB_ERROR_PREFIX,
        limit=limit,
        descending=False,
        start_key=start,
    )
    return Page(
        items=[
            RowError(int(i["row"]), i.get("object_id"), i["code"], i["message"]) for i in page.items
        ],
        has_more=page.has_more,
    )
