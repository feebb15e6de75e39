"""A failing subscription's backlog: the notifications that wait while its circuit is open.

One partition per subscription (`E#<env>#WHB#<id>`), sorted by the start of each entry's
3-day retry window, so the oldest comes first (the probe sends its head; expiry takes from the
front). An entry holds the queue messages one writer set aside together (bodies past the
inline limit are already a key in the bodies bucket): a dispatch batch's notifications for a
failing receiver are one write, not one each. It expires with its window plus a day of slack,
so a backlog no one drains (its subscription deleted) still goes away.

Entries are written, then counted on the subscription (`ADD backlog_seq`) only if its circuit
is still open; the drain closes a circuit only if that counter has not moved since it found
the backlog empty. So an entry either is counted under an open circuit (the drain will find it
or see the counter move), or its writer learns the circuit was no longer open, takes the
entries back and delivers them the ordinary way. A writer that dies between the two steps
leaves entries no drain may reach, but its invocation fails, and the stream record or queue
message that caused it is tried again, now past a closed circuit: nothing is lost. Plain
writes, not a transaction: half the write capacity, and no 100-item cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.store import bulk, dynamo, keys
from shared.store.subscriptions import count_entries
from shared.webhooks.messages import DeliveryMessage

# A day past the window: expiry normally happens in the probe, which records the dead.
EXPIRY_SLACK_SECONDS = 24 * 3600
# Messages held together in one item, at most this many bytes of them (DynamoDB's item limit is
# 400 KB; a message is at most about 50 KB, larger bodies being a key in the bodies bucket).
BUNDLE_BYTES = 300 * 1024


@dataclass(frozen=True)
class Entry:
    """One backlog item: the messages one writer held together, oldest window first. They
    share the first one's retry window (a dispatch batch's notifications are at most a few
    seconds apart, out of three days)."""

    key: dict[str, str]
    messages: list[DeliveryMessage]

    @property
    def head(self) -> DeliveryMessage:
        return self.messages[0]


def add(messages: list[DeliveryMessage], *, window_seconds: float) -> list[DeliveryMessage]:
    """Puts one subscription's messages in its backlog while its circuit is open, a few
    hundred kilobytes to an item (one write for a whole dispatch batch); returns those it did
    not take (the circuit is not open: the caller delivers them the ordinary way)."""
    if not messages:
        return []
    env, sub = messages[0].environment_id, messages[0].subscription_id
    if any((m.environment_id, m.subscription_id) != (env, sub) for m in messages):
        raise ValueError("a backlog write is for one subscription")
    items = [_item(bundle, window_seconds) for bundle in _bundles(messages)]
    bulk.put_items(items)
    if count_entries(env, sub, len(items)):
        return []
    bulk.delete_keys([{"PK": item["PK"], "SK": item["SK"]} for item in items])
    return messages


def replace(entry: Entry, remaining: list[DeliveryMessage], *, window_seconds: float) -> None:
    """The entry without the messages dealt with (its head delivered or given up on)."""
    if remaining:
        bulk.put_items([_item(remaining, window_seconds)])
    bulk.delete_keys([entry.key])


def _bundles(messages: list[DeliveryMessage]) -> list[list[DeliveryMessage]]:
    bundles: list[list[DeliveryMessage]] = []
    size = 0
    for message in sorted(messages, key=lambda m: m.window_started_at):
        length = message.size()
        if not bundles or size + length > BUNDLE_BYTES:
            bundles.append([])
            size = 0
        bundles[-1].append(message)
        size += length
    return bundles


def _item(bundle: list[DeliveryMessage], window_seconds: float) -> dict[str, Any]:
    head = bundle[0]
    key = keys.webhook_backlog_entry(
        head.environment_id, head.subscription_id, head.window_started_at, head.delivery_id
    )
    return {
        **key,
        "messages": [message.to_json() for message in bundle],
        "expires_at": int(head.window_started_at + window_seconds + EXPIRY_SLACK_SECONDS),
    }


def oldest(environment_id: str, subscription_id: str, *, limit: int) -> list[Entry]:
    """The entries whose windows started first (strongly consistent: a drain that finds none
    has seen every entry written before it looked)."""
    return _query(environment_id, subscription_id, limit=limit)


def expired(environment_id: str, subscription_id: str, *, before: float, limit: int) -> list[Entry]:
    """Entries whose retry window started before `before` (unix seconds)."""
    return _query(
        environment_id,
        subscription_id,
        limit=limit,
        below=keys.webhook_backlog_window_bound(before),
    )


def _query(
    environment_id: str, subscription_id: str, *, limit: int, below: str | None = None
) -> list[Entry]:
    values: dict[str, Any] = {
        ":pk": keys.webhook_backlog(environment_id, subscription_id),
        ":prefix": keys.WEBHOOK_BACKLOG_PREFIX,
    }
    condition = "PK = :pk AND begins_with(SK, :prefix)"
    if below is not None:
        condition = "PK = :pk AND SK BETWEEN :prefix AND :below"
        values[":below"] = below
    result = dynamo.client().query(
        TableName=dynamo.table_name(),
        KeyConditionExpression=condition,
        ExpressionAttributeValues=dynamo.to_item(values),
        ConsistentRead=True,
        Limit=limit,
    )
    return [
        Entry(
            key={"PK": item["PK"], "SK": item["SK"]},
            messages=[DeliveryMessage.from_json(text) for text in item["messages"]],
        )
        for item in (dynamo.from_item(i) for i in result.get("Items", []))
    ]


def remove(entries: list[Entry]) -> None:
    bulk.delete_keys([entry.key for entry in entries])
