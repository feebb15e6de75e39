"""The jobs queue: one message per step of an import or export job.

A step processes a bounded chunk and, when there is more, queues the next step; a message
names the job and the step it is for, so a duplicate (SQS delivers at least once) or a
message overtaken by another step finds the job moved on and does nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared import aws
from shared.settings import get_settings


@dataclass(frozen=True)
class StepMessage:
    environment_id: str
    job_id: str
    step: int

    def body(self) -> str:
        return json.dumps(
            {"environment_id": self.environment_id, "job_id": self.job_id, "step": self.step}
        )

    @classmethod
    def parse(cls, body: str) -> StepMessage:
        data = json.loads(body)
        return cls(str(data["environment_id"]), str(data["job_id"]), int(data["step"]))


@lru_cache(maxsize=1)
def client() -> Any:
    return aws.client("sqs", get_settings().sqs_endpoint_url)


def reset() -> None:
    client.cache_clear()
    get_settings.cache_clear()


def send(message: StepMessage) -> None:
    queue_url = get_settings().require("jobs_queue_url")
    client().send_message(QueueUrl=queue_url, MessageBody=message.body())
