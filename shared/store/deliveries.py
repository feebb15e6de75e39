"""The delivery log: one item per (notification, subscription), every attempt on it.

Each subscription's log is its own partition (`E#<env>#WHD#<id>`), sorted by notification
time then delivery id, newest first when queried descending; a GSI2 key per delivery finds one
by id alone. Items expire 30 days after their last write. An item holds the notification body
when it is small, or the key of the body in the bodies bucket, and at most
`MAX_LOGGED_ATTEMPTS` attempts (the first ones and the latest), so it stays far below
DynamoDB's item limit whatever happens. `revision` counts writes, so a resend or recover marks
a delivery pending only if no attempt was recorded since it read it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from shared.clock import now_iso
from shared.domain.errors import InvalidInput
from shared.store import dynamo, keys
from shared.store.pages import Page
from shared.webhooks.messages import DeliveryMessage

DELIVERY_LOG_TTL_SECONDS = 30 * 24 * 3600
# An attempt log keeps the first attempts and the latest one: a delivery makes about 20
# attempts in its 3-day window, and resends add a few more.
MAX_LOGGED_ATTEMPTS = 50
# Deliveries one recover call resends: each is a write and a message, and an API call must
# finish within API Gateway's 29 s. Resent deliveries turn pending, so a repeated call continues.
RECOVER_BATCH = 500

# pending: queued, no outcome yet; backlogged: waiting in its subscription's backlog while the
# receiver is failing (the probe tries it, or the drain queues it again).
DeliveryStatus = Literal["pending", "backlogged", "succeeded", "failed", "dead"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = (
    "pending",
    "backlogged",
    "succeeded",
    "failed",
    "dead",
)


@dataclass(frozen=True)
class Delivery:
    id: str
    subscription_id: str
    notification_id: str
    topic: str
    body: str | None  # the notification JSON exactly as sent, when small
    body_key: str | None  # where a large body waits in the bodies bucket
    status: DeliveryStatus
    attempts: list[dict[str, Any]]
    dropped_attempts: int  # attempts left out of `attempts` (only past MAX_LOGGED_ATTEMPTS)
    created_at: str  # the notification's
    updated_at: str
    revision: int


def _delivery(item: dict[str, Any]) -> Delivery:
    return Delivery(
        id=item["delivery_id"],
        subscription_id=item["subscription_id"],
        notification_id=item["notification_id"],
        topic=item["topic"],
        body=item.get("body"),
        body_key=item.get("body_key"),
        status=item["status"],
        attempts=list(item.get("attempts") or []),
        dropped_attempts=int(item.get("dropped_attempts", 0)),
        created_at=item["created_at"],
        updated_at=item["updated_at"],
        revision=int(item.get("revision", 0)),
    )


def _write(
    message: DeliveryMessage,
    status: DeliveryStatus,
    attempt: dict[str, Any] | None,
    *,
    condition: str | None = None,
    condition_values: dict[str, Any] | None = None,
) -> Delivery | None:
    """One UpdateItem: creates the log item if absent, sets the status, appends an attempt.

    With `condition` (only without an attempt), None when it did not hold (nothing written).
    """
    if status not in DELIVERY_STATUSES:
        raise ValueError(f"unknown delivery status {status!r}")
    if attempt is not None and condition is not None:
        raise ValueError("an attempt is always recorded: no condition")
    env, sub = message.environment_id, message.subscription_id
    fixed = {
        **keys.webhook_delivery_lookup(env, sub, message.delivery_id),
        "delivery_id": message.delivery_id,
        "subscription_id": sub,
        "notification_id": message.notification_id,
        "topic": message.topic,
        "created_at": message.created_at,
        # Exactly one of the two (see DeliveryMessage).
        **({"body": message.body} if message.body is not None else {}),
        **({"body_key": message.body_key} if message.body_key is not None else {}),
    }
    values: dict[str, Any] = {
        **{f":{k}": v for k, v in fixed.items()},
        ":status": status,
        ":now": now_iso(),
        ":expires": int(time.time()) + DELIVERY_LOG_TTL_SECONDS,
        ":none": [],
        ":one": 1,
        **(condition_values or {}),
    }
    assignments = [f"#{k} = if_not_exists(#{k}, :{k})" for k in fixed]
    assignments += ["#status = :status", "#updated_at = :now", "#expires_at = :expires"]
    names = [*fixed, "status", "updated_at", "expires_at", "attempts", "revision"]
    if attempt is None:
        assignments.append("#attempts = if_not_exists(#attempts, :none)")
        conditions = [condition] if condition else []
    else:
        assignments.append("#attempts = list_append(if_not_exists(#attempts, :none), :attempt)")
        values[":attempt"] = [attempt]
        values[":max"] = MAX_LOGGED_ATTEMPTS
        conditions = ["attribute_not_exists(#attempts) OR size(#attempts) < :max"]
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "Key": dynamo.to_item(
            keys.webhook_delivery(env, sub, message.created_at, message.delivery_id)
        ),
        "UpdateExpression": "SET " + ", ".join(assignments) + " ADD #revision :one",
        "ExpressionAttributeNames": {f"#{k}": k for k in names},
        "ExpressionAttributeValues": dynamo.to_item(values),
        "ReturnValues": "ALL_NEW",
    }
    if conditions:
        arguments["ConditionExpression"] = " AND ".join(conditions)
    try:
        result = dynamo.client().update_item(**arguments)
    except ClientError as error:
        if not dynamo.is_conditional_failure(error):
            raise
        if attempt is None:
            return None
        return _write_past_cap(message, status, attempt)
    return _delivery(dynamo.from_item(result["Attributes"]))


def _write_past_cap(
    message: DeliveryMessage, status: DeliveryStatus, attempt: dict[str, Any]
) -> Delivery:
    """The log is full: the latest attempt takes the last place, and the one it replaces is
    counted in `dropped_attempts`."""
    env, sub = message.environment_id, message.subscription_id
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "Key": dynamo.to_item(
            keys.webhook_delivery(env, sub, message.created_at, message.delivery_id)
        ),
        "UpdateExpression": (
            f"SET #status = :status, #updated_at = :now, #expires_at = :expires, "
            f"#attempts[{MAX_LOGGED_ATTEMPTS - 1}] = :attempt "
            "ADD #revision :one, #dropped :one"
        ),
        "ExpressionAttributeNames": {
            "#status": "status",
            "#updated_at": "updated_at",
            "#expires_at": "expires_at",
            "#attempts": "attempts",
            "#revision": "revision",
            "#dropped": "dropped_attempts",
        },
        "ExpressionAttributeValues": dynamo.to_item(
            {
                ":status": status,
                ":now": now_iso(),
                ":expires": int(time.time()) + DELIVERY_LOG_TTL_SECONDS,
                ":attempt": attempt,
                ":one": 1,
            }
        ),
        "ReturnValues": "ALL_NEW",
    }
    result = dynamo.client().update_item(**arguments)
    return _delivery(dynamo.from_item(result["Attributes"]))


def record_attempt(
    message: DeliveryMessage, attempt: dict[str, Any], status: DeliveryStatus
) -> Delivery:
    """Logs one attempt ({attempted_at, status_code, duration_ms, error, response_excerpt,
    next_attempt_at}) and the delivery's status after it."""
    written = _write(message, status, attempt)
    assert written is not None  # unconditional
    return written


def record_status(message: DeliveryMessage, status: DeliveryStatus) -> Delivery:
    """Sets the status without an attempt (e.g. moved to the backlog, given up on)."""
    written = _write(message, status, None)
    assert written is not None  # unconditional
    return written


def mark_pending(message: DeliveryMessage, *, seen: Delivery | None) -> Delivery | None:
    """Marks a delivery whose message was just queued (a test, a resend, a recovery) as
    pending, unless an attempt was recorded since the caller read it (`seen`; None for a
    delivery that had no log yet). Called after enqueueing: a failure before it leaves the
    delivery as it was, so a later recover still finds it. None when it changed meanwhile."""
    if seen is None:
        condition, values = "attribute_not_exists(#revision)", {}
    else:
        condition, values = "#revision = :seen", {":seen": seen.revision}
        if not seen.revision:  # written before deliveries counted revisions
            condition = "attribute_not_exists(#revision)"
            values = {}
    return _write(message, "pending", None, condition=condition, condition_values=values)


def get_delivery(environment_id: str, subscription_id: str, delivery_id: str) -> Delivery | None:
    lookup = keys.webhook_delivery_lookup(environment_id, subscription_id, delivery_id)
    result = dynamo.client().query(
        TableName=dynamo.table_name(),
        IndexName="GSI2",
        KeyConditionExpression="GSI2PK = :pk AND GSI2SK = :sk",
        ExpressionAttributeValues=dynamo.to_item(
            {":pk": lookup["GSI2PK"], ":sk": lookup["GSI2SK"]}
        ),
    )
    items = result.get("Items", [])
    return _delivery(dynamo.from_item(items[0])) if items else None


def list_page(
    environment_id: str,
    subscription_id: str,
    *,
    limit: int,
    starting_after: str | None,
    descending: bool = True,
) -> Page[Delivery]:
    """A page of the delivery log, newest first unless `descending=False`."""
    partition = keys.webhook_deliveries(environment_id, subscription_id)
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": {"S": partition},
            ":prefix": {"S": keys.WEBHOOK_DELIVERY_PREFIX},
        },
        "ScanIndexForward": not descending,
        "Limit": limit + 1,
    }
    if starting_after is not None:
        anchor = get_delivery(environment_id, subscription_id, starting_after)
        if anchor is None:
            raise InvalidInput(f"Invalid `starting_after`: no delivery with id {starting_after!r}.")
        arguments["ExclusiveStartKey"] = dynamo.to_item(
            keys.webhook_delivery(environment_id, subscription_id, anchor.created_at, anchor.id)
        )
    items: list[dict[str, Any]] = []
    while True:  # a page stops at 1 MB: read on until one more than asked for
        result = dynamo.client().query(**arguments)
        items.extend(dynamo.from_item(i) for i in result.get("Items", []))
        last = result.get("LastEvaluatedKey")
        if len(items) > limit or not last:
            break
        arguments["ExclusiveStartKey"] = last
        arguments["Limit"] = limit + 1 - len(items)
    return Page(items=[_delivery(i) for i in items[:limit]], has_more=len(items) > limit)


def failed_since(
    environment_id: str, subscription_id: str, since_iso: str, *, limit: int = RECOVER_BATCH
) -> Page[Delivery]:
    """Failed and dead deliveries of notifications created at or after `since_iso`, oldest
    first, at most `limit` (`has_more` tells whether more remain).

    `since_iso` must be in the stored format (`shared.clock.format_timestamp`): the range is
    on the sort key's text.
    """
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        # "$" sorts right after "#": the upper bound closes the `D#` range.
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :from AND :to",
        "FilterExpression": "#status IN (:failed, :dead)",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": dynamo.to_item(
            {
                ":pk": keys.webhook_deliveries(environment_id, subscription_id),
                ":from": f"{keys.WEBHOOK_DELIVERY_PREFIX}{since_iso}",
                ":to": keys.WEBHOOK_DELIVERY_PREFIX[:-1] + "$",
                ":failed": "failed",
                ":dead": "dead",
            }
        ),
    }
    found: list[Delivery] = []
    while True:
        page = dynamo.client().query(**arguments)
        found.extend(_delivery(dynamo.from_item(i)) for i in page.get("Items", []))
        if len(found) > limit or "LastEvaluatedKey" not in page:
            return Page(items=found[:limit], has_more=len(found) > limit)
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
