"""Job steps on moto (DynamoDB, S3, SQS in process): chunks, continuation, duplicates."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from shared.domain.transfers import Format, Kind, ObjectType, Status
from shared.services import bulk, exports, imports, job_steps, jobs
from shared.store import users
from shared.store.jobs import Job
from shared.transfers import files, steps
from shared.transfers.steps import StepMessage


@pytest.fixture
def transfers(table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The transfers bucket and the jobs queue (moto); returns the queue URL."""
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="waymark-transfers-unit")
    queue_url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="jobs")[
        "QueueUrl"
    ]
    monkeypatch.setenv("TRANSFERS_BUCKET", "waymark-transfers-unit")
    monkeypatch.setenv("JOBS_QUEUE_URL", queue_url)
    for name in ("SQS_ENDPOINT_URL", "S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    files.reset()
    steps.reset()
    yield queue_url
    files.reset()
    steps.reset()


def queued(queue_url: str) -> list[StepMessage]:
    """The step messages waiting, taken off the queue."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    found = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    for message in found:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return [StepMessage.parse(m["Body"]) for m in found]


def upload(environment: str, job_id: str, data: bytes) -> None:
    files.put(files.upload_key(environment, job_id), data, "application/x-ndjson")


def test_an_import_runs_in_steps_of_bounded_chunks_until_done(
    environment: str, transfers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 4)
    monkeypatch.setattr(job_steps, "MAX_CHUNKS_PER_STEP", 2)
    job = jobs.create_import(environment, ObjectType.USERS, Format.NDJSON)
    rows = [json.dumps({"id": f"u{n}", "attributes": {"n": n}}) for n in range(10)]
    upload(environment, job.id, ("\n".join(rows) + "\n").encode())
    jobs.start_import(environment, job.id)

    taken: list[int] = []
    while messages := queued(transfers):
        (message,) = messages
        taken.append(message.step)
        job_steps.run_step(message)
    finished = jobs.get(environment, job.id, Kind.IMPORT)
    assert finished.status is Status.SUCCEEDED
    assert (finished.done, finished.failed, finished.total) == (10, 0, 10)
    # Queued (step 1); running (2); 4 chunks of 2 a step: the count (3), 4 rows (4) | 4 rows
    # (5), 2 rows (6, done).
    assert taken == [1, 4]
    assert sorted(users.get_many(environment, [f"u{n}" for n in range(10)])) == sorted(
        f"u{n}" for n in range(10)
    )


def test_a_duplicate_or_overtaken_message_does_nothing(environment: str, transfers: str) -> None:
    job = jobs.create_import(environment, ObjectType.USERS, Format.NDJSON)
    upload(environment, job.id, b'{"id": "a"}\n')
    jobs.start_import(environment, job.id)
    (message,) = queued(transfers)
    job_steps.run_step(message)
    done = jobs.get(environment, job.id, Kind.IMPORT)
    assert done.status is Status.SUCCEEDED
    job_steps.run_step(message)  # SQS delivered it twice
    assert jobs.get(environment, job.id, Kind.IMPORT) == done
    assert queued(transfers) == []


def test_a_failing_step_is_retried_then_fails_the_job_on_its_last_receive(
    environment: str, transfers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = jobs.create_export(environment, ObjectType.USERS, Format.NDJSON, None)
    (message,) = queued(transfers)

    def broken(_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(exports, "run_chunk", broken)
    # The first receive marks the job running, then fails: the next step is queued instead of
    # the message being retried (its step is behind the job's now).
    job_steps.run_step(message)
    (retry,) = queued(transfers)
    assert retry.step == message.step + 1
    with pytest.raises(RuntimeError, match="a bug"):
        job_steps.run_step(retry)  # the queue retries it...
    job_steps.run_step(retry, final_attempt=True)  # ...until its last receive
    failed = jobs.get(environment, job.id, Kind.EXPORT)
    assert failed.status is Status.FAILED
    assert failed.error_code == "internal_error"
    assert queued(transfers) == []


def test_an_import_whose_header_cannot_be_read_fails_with_why(
    environment: str, transfers: str
) -> None:
    job = jobs.create_import(environment, ObjectType.GROUPS, Format.CSV)
    upload(environment, job.id, b"name\nacme\n")
    jobs.start_import(environment, job.id)
    (message,) = queued(transfers)
    job_steps.run_step(message)
    failed = jobs.get(environment, job.id, Kind.IMPORT)
    assert failed.status is Status.FAILED
    assert failed.error_message == "Line 1: Invalid CSV header: it needs an `id` column."


def export_all(environment: str, transfers: str) -> tuple[Job, list[str]]:
    job = jobs.create_export(environment, ObjectType.USERS, Format.NDJSON, None)
    while messages := queued(transfers):
        job_steps.run_step(messages[0])
    finished = jobs.get(environment, job.id, Kind.EXPORT)
    exported = files.get(exports.file_key(finished)).decode().splitlines()
    return finished, [json.loads(line)["id"] for line in exported]


def test_a_small_export_carries_its_rows_from_chunk_to_chunk_into_one_object(
    environment: str, transfers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{"id": f"e{n:02d}", "attributes": {"pad": "x" * 1000}} for n in range(30)]
    assert all(o.value is not None for o in bulk.upsert_users(environment, rows))
    monkeypatch.setattr(exports, "PAGE_SIZE", 5)
    monkeypatch.setattr(exports, "EXAMINE_PER_CHUNK", 5)
    finished, ids = export_all(environment, transfers)
    assert finished.status is Status.SUCCEEDED and finished.done == finished.total == 30
    assert "upload_id" not in finished.position  # one PutObject at the end
    assert sorted(ids) == [f"e{n:02d}" for n in range(30)]


def test_a_large_export_is_a_multipart_upload_of_whole_parts(
    environment: str, transfers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{"id": f"b{n:03d}", "attributes": {"pad": "x" * 30_000}} for n in range(300)]
    assert all(o.value is not None for o in bulk.upsert_users(environment, rows))
    monkeypatch.setattr(exports, "PART_BYTES", 5 * 1024 * 1024)  # S3's smallest part
    finished, ids = export_all(environment, transfers)
    assert finished.status is Status.SUCCEEDED and finished.done == 300
    assert finished.position["parts"] == 2  # 5 MiB and the rest (9 MB in all)
    assert sorted(ids) == [f"b{n:03d}" for n in range(300)]
