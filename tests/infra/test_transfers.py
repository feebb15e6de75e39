"""Import and export jobs in the stack: the transfers bucket, the jobs queue, the steps."""

from __future__ import annotations

import inspect
from typing import Any

from functions.transfer_jobs.handler import MAX_RECEIVES
from infra.constructs.transfers import TRANSFER_JOBS
from shared import settings as settings_module
from shared.services import job_steps, jobs
from tests.infra.conftest import Synthesized

DAY = 86_400


def test_the_bucket_is_private_encrypted_ssl_only_and_expires_with_the_jobs(
    dev: Synthesized,
) -> None:
    properties = dev.private_bucket(dev.stack.transfers.bucket)
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == jobs.JOB_LIFETIME.days == 7
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}


def _queue(dev: Synthesized, queue: Any) -> tuple[str, dict[str, Any]]:
    queue_id = dev.logical_id(queue)
    properties: dict[str, Any] = dev.template_json["Resources"][queue_id]["Properties"]
    return queue_id, properties


def test_steps_come_one_at_a_time_and_failures_are_retried_then_parked(
    dev: Synthesized,
) -> None:
    queue_id, queue = _queue(dev, dev.stack.transfers.queue)
    dead_id, dead = _queue(dev, dev.stack.transfers.dead_letter_queue)
    assert queue["SqsManagedSseEnabled"] is True and dead["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_id, "Arn"]},
        "maxReceiveCount": MAX_RECEIVES,
    }
    function_id = dev.function_id(TRANSFER_JOBS.handler)
    (mapping,) = [
        m["Properties"]
        for m in dev.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    timeout = dev.template_json["Resources"][function_id]["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout
    # A step starts a chunk only with a minute left: the function has several.
    assert timeout >= 4 * job_steps.CHUNK_RESERVE_SECONDS


def test_bucket_and_queue_are_the_variables_settings_reads(dev: Synthesized) -> None:
    source = inspect.getsource(settings_module)
    variables = dev.template_json["Resources"][dev.function_id(TRANSFER_JOBS.handler)][
        "Properties"
    ]["Environment"]["Variables"]
    for name in ("TRANSFERS_BUCKET", "JOBS_QUEUE_URL"):
        assert f'"{name}"' in source
        assert name in variables
