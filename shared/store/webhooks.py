"""Webhook subscriptions and their delivery logs: every DynamoDB access for webhooks.

Subscriptions share one partition per environment (`E#<env>#WEBHOOKS`), so the dispatcher
reads them all with one Query. Each subscription's delivery log is its own partition
(`E#<env>#WHD#<id>`), sorted by notification time then delivery id, newest first when
queried descending; a GSI2 key per delivery finds one by id alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError

from shared.clock import format_timestamp, now_iso
from shared.domain.errors import InvalidInput
from shared.ids import new_id
from shared.store import dynamo, keys
from shared.store.pages import Page
from shared.webhooks.messages import DeliveryMessage
from shared.webhooks.signing import new_secret

DELIVERY_LOG_TTL_SECONDS = 30 * 24 * 3600
# Deliveries one recover call resends: each is a write and a message, and an API call must
# finish within API Gateway's 29 s. Resent deliveries turn pending, so a repeated call continues.
RECOVER_BATCH = 500

DeliveryStatus = Literal["pending", "succeeded", "failed", "dead"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "succeeded", "failed", "dead")


@dataclass(frozen=True)
class Subscription:
    id: str
    api_version: str
    created_at: str
    disabled: bool
    topics: list[str]
    url: str
    secret: str
    standard_webhooks: bool = False
    # Rotation grace: the old secret still signs until this time.
    previous_secret: str | None = None
    previous_secret_expires_at: str | None = None
    # Set by the delivery function: first failure of the current failing streak.
    failing_since: str | None = None
    # Set only when Waymark disabled the subscription itself.
    disabled_reason: str | None = None
    disabled_at: str | None = None


@dataclass(frozen=True)
class Delivery:
    id: str
    subscription_id: str
    notification_id: str
    topic: str
    body: str  # the notification JSON exactly as sent
    status: DeliveryStatus
    attempts: list[dict[str, Any]]
    created_at: str  # the notification's created_at
    updated_at: str


# --- subscriptions -------------------------------------------------------------------------


def _subscription(item: dict[str, Any]) -> Subscription:
    return Subscription(
        id=item["id"],
        api_version=item["api_version"],
        created_at=item["created_at"],
        disabled=bool(item.get("disabled", False)),
        topics=list(item.get("topics") or []),
        url=item["url"],
        secret=item["secret"],
        standard_webhooks=bool(item.get("standard_webhooks", False)),
        previous_secret=item.get("previous_secret"),
        previous_secret_expires_at=item.get("previous_secret_expires_at"),
        failing_since=item.get("failing_since"),
        disabled_reason=item.get("disabled_reason"),
        disabled_at=item.get("disabled_at"),
    )


def create(
    environment_id: str,
    *,
    api_version: str,
    topics: list[str],
    url: str,
    standard_webhooks: bool = False,
) -> Subscription:
    subscription = Subscription(
        id=new_id(),
        api_version=api_version,
        created_at=now_iso(),
        disabled=False,
        topics=topics,
        url=url,
        secret=new_secret(),
        standard_webhooks=standard_webhooks,
    )
    dynamo.client().put_item(
        TableName=dynamo.table_name(),
        Item=dynamo.to_item(
            {
                **keys.webhook_subscription(environment_id, subscription.id),
                "id": subscription.id,
                "api_version": api_version,
                "created_at": subscription.created_at,
                "disabled": False,
                "topics": topics,
                "url": url,
                "secret": subscription.secret,
                "standard_webhooks": standard_webhooks,
            }
        ),
        ConditionExpression="attribute_not_exists(PK)",
    )
    return subscription


def get(environment_id: str, subscription_id: str) -> Subscription | None:
    found = dynamo.client().get_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.webhook_subscription(environment_id, subscription_id)),
        ConsistentRead=True,
    )
    return _subscription(dynamo.from_item(found["Item"])) if "Item" in found else None


def update(
    environment_id: str,
    subscription_id: str,
    *,
    api_version: str | None = None,
    topics: list[str] | None = None,
    url: str | None = None,
    disabled: bool | None = None,
    standard_webhooks: bool | None = None,
) -> Subscription | None:
    """Changes the given fields only; None when the subscription does not exist.

    Re-enabling (`disabled=False`) also forgets an automatic disable and the failing streak.
    """
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("api_version", api_version),
            ("topics", topics),
            ("url", url),
            ("disabled", disabled),
            ("standard_webhooks", standard_webhooks),
        )
        if value is not None
    }
    removals = ("disabled_reason", "disabled_at", "failing_since") if disabled is False else ()
    if not changes:
        return get(environment_id, subscription_id)
    return _update(environment_id, subscription_id, changes, removals)


def _update(
    environment_id: str,
    subscription_id: str,
    changes: dict[str, Any],
    removals: tuple[str, ...] = (),
) -> Subscription | None:
    item = dynamo.update_existing(
        keys.webhook_subscription(environment_id, subscription_id), changes, removals
    )
    return _subscription(item) if item is not None else None


def delete(environment_id: str, subscription_id: str) -> None:
    """Idempotent. The delivery log is left to expire (TTL) rather than deleted item by item."""
    dynamo.client().delete_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.webhook_subscription(environment_id, subscription_id)),
    )


def list_all(environment_id: str) -> list[Subscription]:
    """Every subscription of the environment, in id order (one Query, paged past 1 MB)."""
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": {"S": keys.webhook_subscriptions(environment_id)},
            ":prefix": {"S": keys.WEBHOOK_SUBSCRIPTION_PREFIX},
        },
    }
    found: list[Subscription] = []
    while True:
        page = dynamo.client().query(**arguments)
        found.extend(_subscription(dynamo.from_item(i)) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return found
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def rotate_secret(environment_id: str, subscription_id: str, grace_seconds: int) -> str | None:
    """A new secret; the old one keeps signing for `grace_seconds`. None when not found."""
    secret = new_secret()
    now = datetime.now(UTC)
    values: dict[str, Any] = {":secret": secret}
    if grace_seconds > 0:
        # Right-hand sides read the item as it was, so the old secret moves aside atomically.
        expression = (
            "SET previous_secret = secret, previous_secret_expires_at = :expires, secret = :secret"
        )
        values[":expires"] = format_timestamp(now + timedelta(seconds=grace_seconds))
    else:
        expression = "SET secret = :secret REMOVE previous_secret, previous_secret_expires_at"
    try:
        dynamo.client().update_item(
            TableName=dynamo.table_name(),
            Key=dynamo.to_item(keys.webhook_subscription(environment_id, subscription_id)),
            UpdateExpression=expression,
            ExpressionAttributeValues=dynamo.to_item(values),
            ConditionExpression="attribute_exists(PK)",
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    return secret


def mark_failure(environment_id: str, subscription_id: str, now: str) -> str | None:
    """Starts the failing streak unless one runs; returns its start (None when not found)."""
    try:
        result = dynamo.client().update_item(
            TableName=dynamo.table_name(),
            Key=dynamo.to_item(keys.webhook_subscription(environment_id, subscription_id)),
            UpdateExpression="SET failing_since = if_not_exists(failing_since, :now)",
            ExpressionAttributeValues={":now": {"S": now}},
            ConditionExpression="attribute_exists(PK)",
            # Not UPDATED_NEW: an unchanged value may be left out of it (moto does).
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    since: str = dynamo.from_item(result["Attributes"])["failing_since"]
    return since


def mark_success(environment_id: str, subscription_id: str) -> None:
    """Ends a failing streak (the caller knows there is one: a conditional miss still costs a
    write)."""
    try:
        dynamo.client().update_item(
            TableName=dynamo.table_name(),
            Key=dynamo.to_item(keys.webhook_subscription(environment_id, subscription_id)),
            UpdateExpression="REMOVE failing_since",
            ConditionExpression="attribute_exists(failing_since)",
        )
    except ClientError as error:
        if not dynamo.is_conditional_failure(error):
            raise


def disable(environment_id: str, subscription_id: str, reason: str, at: str) -> Subscription | None:
    """Disables automatically, recording why and when (None when not found)."""
    return _update(
        environment_id,
        subscription_id,
        {"disabled": True, "disabled_reason": reason, "disabled_at": at},
    )


# --- delivery log --------------------------------------------------------------------------


def _delivery(item: dict[str, Any]) -> Delivery:
    return Delivery(
        id=item["delivery_id"],
        subscription_id=item["subscription_id"],
        notification_id=item["notification_id"],
        topic=item["topic"],
        body=item["body"],
        status=item["status"],
        attempts=list(item.get("attempts") or []),
        created_at=item["created_at"],
        updated_at=item["updated_at"],
    )


def _write_delivery(
    message: DeliveryMessage, status: DeliveryStatus, attempt: dict[str, Any] | None
) -> Delivery:
    """One UpdateItem: creates the log item if absent, sets the status, appends an attempt."""
    if status not in DELIVERY_STATUSES:
        raise ValueError(f"unknown delivery status {status!r}")
    now = now_iso()
    env, sub = message.environment_id, message.subscription_id
    fixed = {
        **keys.webhook_delivery_lookup(env, sub, message.delivery_id),
        "delivery_id": message.delivery_id,
        "subscription_id": sub,
        "notification_id": message.notification_id,
        "topic": message.topic,
        "body": message.body,
        "created_at": message.created_at,
    }
    values: dict[str, Any] = {
        **{f":{k}": v for k, v in fixed.items()},
        ":status": status,
        ":now": now,
        ":expires": int(time.time()) + DELIVERY_LOG_TTL_SECONDS,
        ":none": [],
    }
    assignments = [f"#{k} = if_not_exists(#{k}, :{k})" for k in fixed]
    assignments += ["#status = :status", "#updated_at = :now", "#expires_at = :expires"]
    if attempt is None:
        assignments.append("#attempts = if_not_exists(#attempts, :none)")
    else:
        assignments.append("#attempts = list_append(if_not_exists(#attempts, :none), :attempt)")
        values[":attempt"] = [attempt]
    names = [*fixed, "status", "updated_at", "expires_at", "attempts"]
    result = dynamo.client().update_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(
            keys.webhook_delivery(env, sub, message.created_at, message.delivery_id)
        ),
        UpdateExpression="SET " + ", ".join(assignments),
        ExpressionAttributeNames={f"#{k}": k for k in names},
        ExpressionAttributeValues=dynamo.to_item(values),
        ReturnValues="ALL_NEW",
    )
    return _delivery(dynamo.from_item(result["Attributes"]))


def record_attempt(
    message: DeliveryMessage, attempt: dict[str, Any], status: DeliveryStatus
) -> Delivery:
    """Logs one attempt ({attempted_at, status_code, duration_ms, error, next_attempt_at})."""
    return _write_delivery(message, status, attempt)


def mark_pending(message: DeliveryMessage) -> Delivery:
    """Logs a delivery about to be enqueued (a test, a resend) before any attempt is made.

    Write this before enqueueing: written after, it could overwrite an attempt's outcome.
    """
    return _write_delivery(message, "pending", None)


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
