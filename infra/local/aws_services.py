"""The local stand-in for the stack's SQS queues and S3 bucket: moto's server, in this process.

It holds the webhook delivery queue, its dead-letter queue and the bucket where notification
bodies too large for a queue message wait (shared/webhooks/bodies.py).
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
from botocore.config import Config

from infra.local.dynamodb_local import free_port

DELIVERY_QUEUE = "waymark-webhook-deliveries"
DEAD_LETTER_QUEUE = "waymark-webhook-deliveries-dead"
BODIES_BUCKET = "waymark-webhook-bodies"


def client(service: str, endpoint_url: str, region: str = "us-east-1") -> Any:
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=region
    )
    # Path-style: a bucket name cannot be a subdomain of 127.0.0.1.
    return session.client(
        service, endpoint_url=endpoint_url, config=Config(s3={"addressing_style": "path"})
    )


class LocalAwsServices:
    """moto's server on a free loopback port, with the queues and the bucket created."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._server: Any = None
        self.queue_url = ""
        self.dead_letter_queue_url = ""
        self.bodies_bucket = BODIES_BUCKET

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalAwsServices:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per call otherwise
        self.port = free_port(self.host)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        sqs = client("sqs", self.endpoint_url)
        self.dead_letter_queue_url = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
        self.queue_url = sqs.create_queue(QueueName=DELIVERY_QUEUE)["QueueUrl"]
        client("s3", self.endpoint_url).create_bucket(Bucket=self.bodies_bucket)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
