"""What the webhook subscriptions API does beyond one store call: the per-environment cap,
re-enabling, test notifications, resending and recovering deliveries.

Resend, test and recover queue a message first and mark its delivery pending only after SQS
holds it, and only if no attempt was recorded since the delivery was read. A failure part way
(SQS refusing, the function dying) leaves every delivery not yet queued exactly as it was, so
a later recover picks it up; one queued but not yet marked is at worst sent twice, with the
same notification id.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.clock import now_iso
from shared.domain.errors import InvalidInput, Unavailable
from shared.ids import new_id
from shared.settings import get_settings
from shared.store import deliveries
from shared.store import subscriptions as store
from shared.store.deliveries import Delivery
from shared.store.subscriptions import Subscription
from shared.webhooks import bodies, queue
from shared.webhooks.messages import DeliveryMessage, delivery_id_for
from shared.webhooks.notifications import Notification, notification_body

TEST_TOPIC = "webhook.test"


class QueueUnavailable(Unavailable):
    """SQS did not take a message after its retries: nothing was marked, try again later."""


class SubscriptionDisabled(InvalidInput):
    """Sending to a disabled subscription would wait forever: delivery skips it."""


@dataclass(frozen=True)
class Recovery:
    resent_count: int
    has_more: bool


def create(
    environment_id: str,
    *,
    api_version: str,
    topics: list[str],
    url: str,
    standard_webhooks: bool,
) -> Subscription:
    """A new subscription, within the environment's cap. Concurrent creates at the cap may
    pass it by the few that raced (a count, not a lock): the cap bounds dispatch's work per
    notification, which a handful more does not change."""
    limit = get_settings().webhook_subscription_limit
    if store.count(environment_id) >= limit:
        raise InvalidInput(
            f"This environment already has {limit} webhook subscriptions, the most it may "
            "have: delete one, or send several topics to one URL with one subscription."
        )
    return store.create(
        environment_id,
        api_version=api_version,
        topics=topics,
        url=url,
        standard_webhooks=standard_webhooks,
    )


def update(
    environment_id: str,
    subscription_id: str,
    *,
    api_version: str | None,
    topics: list[str] | None,
    url: str | None,
    disabled: bool | None,
    standard_webhooks: bool | None,
) -> Subscription | None:
    """Changes what was given. Re-enabling a subscription whose receiver was failing probes
    it at once (its backlog drains as soon as the receiver answers); a new URL too."""
    updated = store.update(
        environment_id,
        subscription_id,
        api_version=api_version,
        topics=topics,
        url=url,
        disabled=disabled,
        standard_webhooks=standard_webhooks,
    )
    if updated is not None and updated.circuit is not None and (disabled is False or url):
        store.schedule_probe(
            environment_id, subscription_id, next_probe_at=now_iso(), count_attempt=False
        )
    return updated


def enabled(environment_id: str, subscription_id: str) -> Subscription | None:
    """The subscription if it may be sent to (None: no such subscription)."""
    subscription = store.get(environment_id, subscription_id)
    if subscription is not None and subscription.disabled:
        raise SubscriptionDisabled(
            f"Webhook subscription {subscription_id!r} is disabled: PATCH `disabled` to false "
            "before sending to it."
        )
    return subscription


def send_test(subscription: Subscription, data: dict[str, Any]) -> Delivery:
    """A `webhook.test` notification to this subscription only, whatever its topics."""
    notification = Notification(
        id=new_id(),
        environment_id=subscription.environment_id,
        topic=TEST_TOPIC,
        created_at=now_iso(),
        data=data,
    )
    message = DeliveryMessage(
        environment_id=notification.environment_id,
        subscription_id=subscription.id,
        delivery_id=delivery_id_for(notification.id, subscription.id),
        notification_id=notification.id,
        topic=TEST_TOPIC,
        body=notification_body(notification, subscription.api_version).decode(),
        created_at=notification.created_at,
        window_started_at=time.time(),
    )
    return _send_one(message, seen=None)


def resend(subscription: Subscription, delivery: Delivery) -> Delivery:
    """The notification again as first sent, with a new 3-day retry window."""
    return _send_one(_message(subscription, delivery), seen=delivery)


def recover(subscription: Subscription, since: str) -> Recovery:
    """Resends failed and dead deliveries of notifications created since `since`, oldest
    first, at most `RECOVER_BATCH` a call. If SQS fails part way, what went is counted and
    `has_more` asks for another call, which finds the rest still failed."""
    page = deliveries.failed_since(subscription.environment_id, subscription.id, since)
    seen = {delivery.id: delivery for delivery in page.items}
    sent = 0

    def mark(batch: list[DeliveryMessage]) -> None:
        nonlocal sent
        sent += len(batch)
        for message in batch:
            deliveries.mark_pending(message, seen=seen[message.delivery_id])

    try:
        queue.enqueue([_message(subscription, d) for d in page.items], on_sent=mark)
    except (queue.EnqueueFailed, ClientError, BotoCoreError):
        return Recovery(resent_count=sent, has_more=True)
    return Recovery(resent_count=sent, has_more=page.has_more)


def notification_of(delivery: Delivery, *, load_large: bool) -> Any:
    """The notification as sent; a large one (kept in the bodies bucket) only when asked."""
    if delivery.body is not None:
        return json.loads(delivery.body)
    if load_large and delivery.body_key is not None:
        return json.loads(bodies.load(delivery.body_key))
    return None


def _send_one(message: DeliveryMessage, *, seen: Delivery | None) -> Delivery:
    try:
        queue.enqueue([message])
    except (queue.EnqueueFailed, ClientError, BotoCoreError) as error:
        raise QueueUnavailable(str(error)) from error
    marked = deliveries.mark_pending(message, seen=seen)
    if marked is not None:
        return marked
    # An attempt was recorded between the enqueue and the mark: show that.
    found = deliveries.get_delivery(
        message.environment_id, message.subscription_id, message.delivery_id
    )
    assert found is not None  # it was just written
    return found


def _message(subscription: Subscription, delivery: Delivery) -> DeliveryMessage:
    """The delivery again, with a fresh retry window, its notification exactly as first sent."""
    return DeliveryMessage(
        environment_id=subscription.environment_id,
        subscription_id=subscription.id,
        delivery_id=delivery.id,
        notification_id=delivery.notification_id,
        topic=delivery.topic,
        body=delivery.body,
        body_key=delivery.body_key,
        created_at=delivery.created_at,
        window_started_at=time.time(),
    )
