"""The local stack's SQS, through boto3 as the functions use it: the semantics Waymark relies
on, the limits SQS enforces, and fair queues."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.local.aws_services import client
from infra.local.sqs import LocalSqs


@pytest.fixture
def sqs() -> Iterator[Any]:
    server = LocalSqs().start()
    yield client("sqs", server.endpoint_url)
    server.stop()


@pytest.fixture
def queue(sqs: Any) -> str:
    url: str = sqs.create_queue(QueueName="work")["QueueUrl"]
    return url


def receive(sqs: Any, queue: str, wanted: int = 10, **options: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=wanted, MessageSystemAttributeNames=["All"], **options
    ).get("Messages", [])
    return found


def test_a_received_message_is_hidden_until_deleted_or_its_timeout_ends(
    sqs: Any, queue: str
) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="one")
    [first] = receive(sqs, queue, VisibilityTimeout=1)
    assert first["Body"] == "one" and first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert receive(sqs, queue) == []
    time.sleep(1.1)
    [again] = receive(sqs, queue, VisibilityTimeout=30)
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs.change_message_visibility(
        QueueUrl=queue, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0
    )
    [third] = receive(sqs, queue)
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=third["ReceiptHandle"])
    assert receive(sqs, queue) == []
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_delay_and_long_polling(sqs: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=1)
    assert receive(sqs, queue) == []
    [late] = receive(sqs, queue, WaitTimeSeconds=3)  # waits for it, not a fixed poll interval
    assert late["Body"] == "later"
    threading.Timer(0.3, lambda: sqs.send_message(QueueUrl=queue, MessageBody="soon")).start()
    [soon] = receive(sqs, queue, WaitTimeSeconds=3)
    assert soon["Body"] == "soon"


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_batches_are_limited_as_sqs_limits_them(sqs: Any, queue: str) -> None:
    too_many = [{"Id": str(i), "MessageBody": "x"} for i in range(11)]
    with pytest.raises(ClientError) as error:
        sqs.send_message_batch(QueueUrl=queue, Entries=too_many)
    assert _code(error) == "TooManyEntriesInBatchRequest"
    too_big = [{"Id": str(i), "MessageBody": "x" * 200_000} for i in range(6)]
    with pytest.raises(ClientError) as error:
        sqs.send_message_batch(QueueUrl=queue, Entries=too_big)
    assert _code(error) == "BatchRequestTooLong"
    with pytest.raises(ClientError) as error:
        sqs.send_message(QueueUrl=queue, MessageBody="x" * (1024 * 1024 + 1))
    assert _code(error) == "InvalidParameterValue"
    with pytest.raises(ClientError) as error:
        sqs.send_message(QueueUrl=queue.replace("work", "nowhere"), MessageBody="x")
    assert _code(error) == "QueueDoesNotExist"


def test_a_group_with_a_backlog_does_not_delay_another(sqs: Any, queue: str) -> None:
    """SQS fair queues: groups with the fewest messages in flight are served first."""
    for start in range(0, 100, 10):
        sqs.send_message_batch(
            QueueUrl=queue,
            Entries=[
                {"Id": str(i), "MessageBody": f"noisy-{i}", "MessageGroupId": "noisy"}
                for i in range(start, start + 10)
            ],
        )
    sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": str(i), "MessageBody": f"quiet-{i}", "MessageGroupId": "quiet"} for i in range(5)
        ],
    )
    first = receive(sqs, queue)
    assert sorted(m["Body"] for m in first if m["Body"].startswith("quiet")) == [
        f"quiet-{i}" for i in range(5)
    ]
    assert {m["Attributes"]["MessageGroupId"] for m in first} == {"noisy", "quiet"}
    # Within a group, oldest first.
    noisy = [m["Body"] for m in first if m["Body"].startswith("noisy")]
    assert noisy == [f"noisy-{i}" for i in range(len(noisy))]


def test_a_message_received_too_often_is_moved_to_the_dead_letter_queue(sqs: Any) -> None:
    dead = sqs.create_queue(QueueName="dead")["QueueUrl"]
    policy = {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dead",
        "maxReceiveCount": 2,
    }
    work = sqs.create_queue(QueueName="redriven", Attributes={"RedrivePolicy": json.dumps(policy)})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=work, MessageBody="poison")
    for count in ("1", "2"):
        [message] = receive(sqs, work, VisibilityTimeout=0)
        assert message["Attributes"]["ApproximateReceiveCount"] == count
    assert receive(sqs, work) == []
    [parked] = receive(sqs, dead)
    assert parked["Body"] == "poison"
