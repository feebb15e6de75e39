"""A failing receiver's backlog: draining it back to the queue, and giving up on what
outlived its window. Used by the probe (after a probe got a 2xx) and by delivery (after a slow
attempt that opened the circuit got a 2xx after all)."""

from __future__ import annotations

import time

from shared.services.delivery import iso, log_status, window_seconds
from shared.store import backlog
from shared.store import subscriptions as subscriptions_store
from shared.store.subscriptions import Subscription
from shared.webhooks import queue
from shared.webhooks.messages import DeliveryMessage

# Longer than one probe (15 s at most) with its bookkeeping, or a drain's budget: whoever holds
# a circuit's lease (a probe, or a drain) has it alone.
LEASE_SECONDS = 120.0
# A drain moves at most DRAIN_PAGES x DRAIN_PAGE notifications in one call (a few seconds);
# the rest goes on in the next probe run.
DRAIN_PAGE = 100
DRAIN_PAGES = 20
EXPIRE_PAGE = 100


def drain(subscription: Subscription) -> str:
    """Moves the backlog back to the shared queue, oldest first, within the run's budget."""
    env, sub = subscription.environment_id, subscription.id
    for _ in range(DRAIN_PAGES):
        current = subscriptions_store.get(env, sub)
        if current is None or current.circuit is None:
            return "closed"
        if current.circuit.state != "draining":
            return "reopened"  # the receiver failed again; probing resumes
        entries = backlog.oldest(env, sub, limit=DRAIN_PAGE)
        if not entries:
            if subscriptions_store.close_circuit(env, sub, backlog_seq=current.circuit.backlog_seq):
                return "drained"
            continue  # an entry arrived after the read: go round again
        # Queued first, removed after: a run that dies in between sends some twice (same ids),
        # never none.
        queue.enqueue([message for entry in entries for message in entry.messages])
        backlog.remove(entries)
    subscriptions_store.schedule_probe(
        env, sub, next_probe_at=iso(time.time()), count_attempt=False
    )  # the next probe run goes on
    return "draining"


def give_up(messages: list[DeliveryMessage]) -> None:
    """Their window ended: parked for a person, recorded dead."""
    for message in messages:
        queue.park(message)
        log_status(message, "dead")


def expire(subscription: Subscription, now: float) -> int:
    """Backlog entries whose 3-day window has ended without their turn to be probed: recorded
    dead, parked for a person (as the shared path does), removed. One page a run."""
    entries = backlog.expired(
        subscription.environment_id,
        subscription.id,
        before=now - window_seconds(),
        limit=EXPIRE_PAGE,
    )
    for entry in entries:
        give_up(entry.messages)
    backlog.remove(entries)
    return len(entries)
