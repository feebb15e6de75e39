"""Which subscriptions a notification goes to, and the queue messages that carry it.

Subscriptions are read once per environment per stream batch, strongly consistent, and never
kept past the batch. That is what makes a subscription take effect at once: a write whose API
response came after a subscription's create (or PATCH) response reaches the stream, and so a
batch, only after that subscription was stored; the batch's read, made after the batch began,
sees it. A cache kept across batches could not promise that. Cost: one Query per environment
per batch (a batch holds up to 100 records).
"""

from __future__ import annotations

import time

from shared.store import subscriptions as subscriptions_store
from shared.store.subscriptions import Subscription
from shared.webhooks import bodies
from shared.webhooks.messages import DeliveryMessage, delivery_id_for
from shared.webhooks.notifications import Notification, notification_body
from shared.webhooks.topics import matches


class SubscriptionsOfBatch:
    """An environment's subscriptions as one stream batch sees them (read on first use)."""

    def __init__(self) -> None:
        self._by_environment: dict[str, list[Subscription]] = {}

    def of(self, environment_id: str) -> list[Subscription]:
        found = self._by_environment.get(environment_id)
        if found is None:
            found = subscriptions_store.list_all(environment_id)
            self._by_environment[environment_id] = found
        return found


def messages_for(
    notification: Notification, subscriptions: list[Subscription]
) -> list[DeliveryMessage]:
    """One message per enabled subscription whose topics match. A body too large to travel
    in a message is stored once per API version and the messages carry its key."""
    matching = [
        s for s in subscriptions if not s.disabled and matches(s.topics, notification.topic)
    ]
    # API version -> the body as sent to it, or the key it waits under (bodies are the same for
    # every subscription of one API version: serialized, and stored, once).
    prepared: dict[str, tuple[str | None, str | None]] = {}
    messages = []
    window_started_at = time.time()
    for subscription in matching:
        version = subscription.api_version
        if version not in prepared:
            body = notification_body(notification, version).decode()
            if bodies.is_large(body):
                key = bodies.key_for(notification.environment_id, notification.id, version)
                bodies.store(key, body)
                prepared[version] = (None, key)
            else:
                prepared[version] = (body, None)
        inline, body_key = prepared[version]
        messages.append(
            DeliveryMessage(
                environment_id=notification.environment_id,
                subscription_id=subscription.id,
                delivery_id=delivery_id_for(notification.id, subscription.id),
                notification_id=notification.id,
                topic=notification.topic,
                body=inline,
                body_key=body_key,
                created_at=notification.created_at,
                window_started_at=window_started_at,
            )
        )
    return messages
