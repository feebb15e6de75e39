"""The one way every module builds a boto3 client: the same retries, timeouts and pool."""

from __future__ import annotations

from typing import Any

from shared.settings import get_settings

# A delivery batch (and the probe) works on up to 10 messages at once, and the local stack
# runs several invocations in one process: more than botocore's 10 pooled connections.
POOL_CONNECTIONS = 32


def client(service: str, endpoint_url: str | None, *, read_timeout: int = 5) -> Any:
    """A low-level client (cheaper to import and call than the resource API); `endpoint_url`
    is set only off AWS (the local stack's DynamoDB Local and moto)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        region_name=get_settings().region,
        endpoint_url=endpoint_url,
        config=Config(
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=2,
            read_timeout=read_timeout,
            max_pool_connections=POOL_CONNECTIONS,
            # Path-style: off AWS, a bucket name cannot be a subdomain of 127.0.0.1.
            s3={"addressing_style": "path"},
        ),
    )
