"""The local stand-ins for the stack's SQS queues, S3 buckets and KMS key, in this process: the
local SQS (infra/local/sqs.py) with the webhook delivery queue, its dead-letter queue and the
jobs queue; moto's server with the bucket where notification bodies too large for a queue
message wait (shared/webhooks/bodies.py) and the bucket of import and export files
(shared/transfers/files.py); and the local KMS (infra/local/kms.py) with the key webhook
secrets are sealed under (shared/webhooks/sealing.py), kept in a file when the stack keeps
its data.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from infra.local.dynamodb_local import free_port
from infra.local.kms import LocalKms
from infra.local.sqs import LocalSqs

DELIVERY_QUEUE = "waymark-webhook-deliveries"
DEAD_LETTER_QUEUE = "waymark-webhook-deliveries-dead"
BODIES_BUCKET = "waymark-webhook-bodies"
JOBS_QUEUE = "waymark-jobs"
TRANSFERS_BUCKET = "waymark-transfers"


def client(service: str, endpoint_url: str, region: str = "us-east-1") -> Any:
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=region
    )
    # Path-style: a bucket name cannot be a subdomain of 127.0.0.1. A pool as large as the
    # local stack's poller threads (32 share one SQS client), or each reconnects.
    config = Config(s3={"addressing_style": "path"}, max_pool_connections=64)
    return session.client(service, endpoint_url=endpoint_url, config=config)


class LocalAwsServices:
    """The local SQS, moto's S3 and the local KMS, each on a free loopback port, queues,
    bucket and key created. `state_dir`: where the KMS key is kept across restarts (None: in
    memory)."""

    def __init__(self, host: str = "127.0.0.1", state_dir: Path | None = None) -> None:
        self.host = host
        self.port = 0  # moto's (S3)
        self._server: Any = None
        self.sqs = LocalSqs(host=host)
        self.kms = LocalKms(host=host, state=state_dir / "kms.json" if state_dir else None)
        self.queue_url = ""
        self.dead_letter_queue_url = ""
        self.bodies_bucket = BODIES_BUCKET
        self.jobs_queue_url = ""
        self.transfers_bucket = TRANSFERS_BUCKET
        self.secrets_key_id = ""

    @property
    def endpoint_url(self) -> str:
        """moto's server: S3."""
        return f"http://{self.host}:{self.port}"

    @property
    def sqs_endpoint_url(self) -> str:
        return self.sqs.endpoint_url

    @property
    def kms_endpoint_url(self) -> str:
        return self.kms.endpoint_url

    def start(self) -> LocalAwsServices:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per call otherwise
        self.port = free_port(self.host)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self.sqs.start()
        sqs = client("sqs", self.sqs_endpoint_url)
        self.dead_letter_queue_url = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
        self.queue_url = sqs.create_queue(QueueName=DELIVERY_QUEUE)["QueueUrl"]
        self.jobs_queue_url = sqs.create_queue(QueueName=JOBS_QUEUE)["QueueUrl"]
        s3 = client("s3", self.endpoint_url)
        s3.create_bucket(Bucket=self.bodies_bucket)
        s3.create_bucket(Bucket=self.transfers_bucket)
        self.kms.start()
        self.secrets_key_id = self.kms.ensure_key()
        return self

    def stop(self) -> None:
        self.sqs.stop()
        self.kms.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None
