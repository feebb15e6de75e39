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
from concurrent.futures import ThreadPoolExecutor

from shared.services.delivery import window_seconds
from shared.store import backlog
from shared.store import subscriptions as subscriptions_store
from shared.store.subscriptions import Subscription
from shared.webhooks import bodies, queue
from shared.webhooks.messages import DeliveryMessage, delivery_id_for
from shared.webhooks.notifications import Notification, notification_body
from shared.webhooks.topics import matches

# SQS and DynamoDB calls one batch makes at once.
PARALLEL_SENDS = 8


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

    def circuit_open(self, environment_id: str, subscription_id: str) -> bool:
        return any(
            s.id == subscription_id and s.circuit is not None and s.circuit.state == "open"
            for s in self.of(environment_id)
        )


class DispatchBatch:
    """The messages one stream batch makes, sent together once every record is read: SQS
    batches of ten (sized by bytes) across records, and one backlog write per receiver whose
    circuit is open, instead of calls per record."""

    def __init__(self) -> None:
        self.subscriptions = SubscriptionsOfBatch()
        self.messages: list[DeliveryMessage] = []

    def add(self, messages: list[DeliveryMessage]) -> None:
        self.messages.extend(messages)

    def send(self) -> int:
        """Queues the messages, except those for a receiver whose circuit is open: they go
        straight to its backlog, never through the queue and a delivery invocation only to be
        set aside there. If a circuit closed since the batch read it, they are queued after
        all. The calls run side by side: a stream shard waits for its batch to be sent, so
        this is every notification's latency. Returns how many messages were sent."""
        queued: list[DeliveryMessage] = []
        held: dict[tuple[str, str], list[DeliveryMessage]] = {}
        for message in self.messages:
            env, sub = message.environment_id, message.subscription_id
            if self.subscriptions.circuit_open(env, sub):
                held.setdefault((env, sub), []).append(message)
            else:
                queued.append(message)
        with ThreadPoolExecutor(max_workers=PARALLEL_SENDS) as pool:
            holds = [
                pool.submit(backlog.add, waiting, window_seconds=window_seconds())
                for waiting in held.values()
            ]
            sends = [pool.submit(queue.send_batch, batch) for batch in queue.batches(queued)]
            left = [message for hold in holds for message in hold.result()]
            for batch in queue.batches(left):  # their circuits closed since the batch began
                sends.append(pool.submit(queue.send_batch, batch))
            for send in sends:
                send.result()  # raises the first failure: the batch is retried
        return len(self.messages)


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
