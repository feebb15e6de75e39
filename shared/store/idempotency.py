"""Idempotency-Key records: a key is claimed before the request runs, then either keeps the
request's response for replays or is released for a retry (docs/table-design.md).

One item per environment and key. Its `expires_at` (the table's TTL attribute) does two jobs:
while the request runs it is the end of the invocation (a crashed one frees the key then, not
24 hours later); once answered it is 24 hours later. An expired record counts as absent: the
next claim overwrites it, whether or not TTL has removed it yet (TTL takes up to a few days).
Claims and answers are conditional writes of this item, so of two requests with one key only
one runs, and a replay writes nothing: the table's stream sees nothing of it.
"""

from __future__ import annotations

import hashlib
import math
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from shared.domain.limits import IDEMPOTENCY_RETENTION_SECONDS, MAX_REPLAYED_RESPONSE_BYTES
from shared.store import dynamo, keys

logger = Logger()

IN_FLIGHT = "in_flight"
ANSWERED = "answered"


@dataclass(frozen=True)
class KeptResponse:
    """A response as the client got it; `body` is None when it was too large to keep."""

    status: int
    headers: dict[str, str]
    body: str | None
    size: int  # the body's size in bytes (UTF-8)


@dataclass(frozen=True)
class Claimed:
    """The key is this request's: run it, then `answer` or `release` with the token."""

    token: str


@dataclass(frozen=True)
class InFlight:
    """Another request holds the key and is still running (or died, until `expires_at`)."""

    fingerprint: str
    expires_at: int


@dataclass(frozen=True)
class Answered:
    fingerprint: str
    response: KeptResponse


Claim = Claimed | InFlight | Answered


def digest(key: str) -> str:
    """Keys are stored by their SHA-256, so any key makes a key of the same short length."""
    return hashlib.sha256(key.encode()).hexdigest()


def claim(
    environment_id: str, key: str, fingerprint: str, *, now: float, in_flight_seconds: float
) -> Claim:
    """Claim `key` for a request (its `fingerprint`) running until `now + in_flight_seconds`
    at most: one conditional PutItem. When the key is held, the failed write returns the
    record (no second read)."""
    from botocore.exceptions import ClientError

    token = uuid.uuid4().hex
    item = {
        **keys.idempotency_record(environment_id, digest(key)),
        "idempotency_key": key,
        "fingerprint": fingerprint,
        "phase": IN_FLIGHT,
        "claim": token,
        "created_at": int(now),
        "expires_at": math.ceil(now + in_flight_seconds),
    }
    try:
        dynamo.client().put_item(
            TableName=dynamo.table_name(),
            Item=dynamo.to_item(item),
            ConditionExpression="attribute_not_exists(PK) OR #expires_at <= :now",
            ExpressionAttributeNames={"#expires_at": "expires_at"},
            ExpressionAttributeValues=dynamo.to_item({":now": int(now)}),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if not dynamo.is_conditional_failure(error):
            raise
        return held_by(dynamo.from_item(error.response["Item"]))
    return Claimed(token)


def held_by(record: dict[str, Any]) -> InFlight | Answered:
    """What a live record says: a request in flight, or the answer to keep giving."""
    fingerprint = str(record["fingerprint"])
    if record.get("phase") != ANSWERED:
        return InFlight(fingerprint, int(record["expires_at"]))
    stored = record.get("body")
    body = zlib.decompress(bytes(stored.value)).decode() if stored is not None else None
    if record.get("sealed_body") is not None:
        from shared.webhooks import sealing

        context = _sealing_context(str(record["PK"]), str(record["SK"]))
        body = sealing.unseal(str(record["sealed_body"]), context)
    return Answered(
        fingerprint,
        KeptResponse(
            status=int(record["status"]),
            headers={str(k): str(v) for k, v in (record.get("headers") or {}).items()},
            body=body,
            size=int(record.get("size", 0)),
        ),
    )


def answer(
    environment_id: str,
    key: str,
    token: str,
    response: KeptResponse,
    *,
    now: float,
    sealed: bool = False,
) -> bool:
    """Keep `response` for replays for 24 hours: one UpdateItem, if the claim is still ours
    (False when it is not: it expired and another request took the key over). A `sealed`
    response (it holds a webhook secret) is kept encrypted like the secret itself, so the
    table never holds a secret in clear."""
    changes: dict[str, Any] = {
        "phase": ANSWERED,
        "status": response.status,
        "headers": response.headers,
        "size": response.size,
        "expires_at": int(now) + IDEMPOTENCY_RETENTION_SECONDS,
        "claim": None,
    }
    if response.body is not None and sealed:
        from shared.webhooks import sealing

        record = keys.idempotency_record(environment_id, digest(key))
        context = _sealing_context(record["PK"], record["SK"])
        changes["sealed_body"] = sealing.seal(response.body, context)
    elif response.body is not None:
        compressed = zlib.compress(response.body.encode())
        if len(compressed) <= MAX_REPLAYED_RESPONSE_BYTES:
            changes["body"] = compressed
        else:
            logger.warning(
                "A response is too large to keep for replays",
                extra={"bytes": response.size, "compressed": len(compressed)},
            )
    return _update_claimed(environment_id, key, token, changes)


def _sealing_context(partition: str, sort: str) -> str:
    """What a sealed response is bound to: its record (it opens nowhere else)."""
    return f"idempotency/{partition}/{sort}"


def release(environment_id: str, key: str, token: str, *, now: float) -> bool:
    """Free the key at once (the request failed: the client may retry): the record expires
    now. One UpdateItem, if the claim is still ours."""
    return _update_claimed(environment_id, key, token, {"expires_at": int(now), "claim": None})


def _update_claimed(environment_id: str, key: str, token: str, changes: dict[str, Any]) -> bool:
    from botocore.exceptions import ClientError

    request = dynamo.update_request(
        keys.idempotency_record(environment_id, digest(key)),
        changes,
        "#claim = :token",
        token=token,
    )["Update"]
    try:
        dynamo.client().update_item(**request)
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            logger.warning("An idempotency claim was taken over before its request answered")
            return False
        raise
    return True
