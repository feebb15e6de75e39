"""Which subscriptions a notification goes to, and the queue messages that carry it."""

from __future__ import annotations

import time

from shared.store import webhooks as subscriptions_store
from shared.store.webhooks import Subscription
from shared.webhooks.messages import DeliveryMessage, delivery_id_for
from shared.webhooks.notifications import Notification, notification_body
from shared.webhooks.topics import matches

# A warm dispatcher reads an environment's subscriptions at most this often: a new, changed or
# disabled subscription takes effect within it (and delivery re-reads the subscription anyway).
CACHE_SECONDS = 10.0
_cache: dict[str, tuple[float, list[Subscription]]] = {}


def subscriptions_of(environment_id: str) -> list[Subscription]:
    now = time.monotonic()
    cached = _cache.get(environment_id)
    if cached is None or cached[0] <= now:
        cached = (now + CACHE_SECONDS, subscriptions_store.list_all(environment_id))
        _cache[environment_id] = cached
    return cached[1]


def forget_subscriptions() -> None:
    _cache.clear()


def messages_for(notification: Notification) -> list[DeliveryMessage]:
    return [
        DeliveryMessage(
            environment_id=notification.environment_id,
            subscription_id=subscription.id,
            delivery_id=delivery_id_for(notification.id, subscription.id),
            notification_id=notification.id,
            topic=notification.topic,
            body=notification_body(notification, subscription.api_version).decode(),
            created_at=notification.created_at,
            window_started_at=time.time(),
        )
        for subscription in subscriptions_of(notification.environment_id)
        if not subscription.disabled and matches(subscription.topics, notification.topic)
    ]
