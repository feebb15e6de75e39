"""Probing failing receivers and draining their backlogs: the other side of the circuit.

The probe function runs every minute (every half second in the local stack). Each run takes
the circuits whose probe is due (one GSI3 Query) and, for each, claims the probe with a lease
(a conditional write), so one receiver is never probed twice at once:
- open: POST the oldest notification in the backlog. A failure schedules the next probe on
  the backoff schedule (the oldest notification's last attempt lands at the end of its 3-day
  window, as on the shared path; then it is dead, parked for a person) and expires what else
  outlived its window; a 2xx starts the drain. An empty backlog closes the circuit.
- draining: move the backlog back to the shared queue, a page at a time, oldest first; when
  it is empty and nothing was added since it was read, close the circuit. A drain cut short
  by its budget goes on in the next run.
Every run's work is bounded: `DUE_PER_RUN` circuits, one POST each, and a drain's budget
(shared/services/backlogs.py).
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from shared.services.backlogs import LEASE_SECONDS, drain, expire, give_up
from shared.services.delivery import (
    attempt_record,
    disable_if_failing_too_long,
    iso,
    log_attempt,
    post,
    window_seconds,
)
from shared.settings import get_settings
from shared.store import backlog
from shared.store import subscriptions as subscriptions_store
from shared.store.subscriptions import Subscription
from shared.webhooks import queue
from shared.webhooks.backoff import probe_delay

log = logging.getLogger(__name__)

DUE_PER_RUN = 100
PARALLEL_PROBES = 10
# A disabled subscription's circuit is looked at again this often (re-enabling makes it due).
DISABLED_RECHECK_SECONDS = 3600.0
_rng = random.Random()


def run(now: float | None = None) -> Counter[str]:
    """One probe run; returns how many circuits ended in each outcome."""
    started = time.time() if now is None else now
    due = subscriptions_store.due_circuits(iso(started), limit=DUE_PER_RUN)
    outcomes: Counter[str] = Counter()
    if not due:
        return outcomes
    with ThreadPoolExecutor(max_workers=min(PARALLEL_PROBES, len(due))) as pool:
        for outcome in pool.map(lambda d: _probe_safely(*d), due):
            outcomes[outcome] += 1
    return outcomes


def _probe_safely(environment_id: str, subscription_id: str, seen_next_probe_at: str) -> str:
    """One receiver's trouble (a throttled write, a bucket read) is not the others': its
    lease runs out and a later run takes it again."""
    try:
        return probe(environment_id, subscription_id, seen_next_probe_at)
    except Exception:
        log.exception("Probing subscription %s failed; it is due again later", subscription_id)
        return "error"


def probe(environment_id: str, subscription_id: str, seen_next_probe_at: str) -> str:
    now = time.time()
    claimed = subscriptions_store.claim_probe(
        environment_id,
        subscription_id,
        seen_next_probe_at=seen_next_probe_at,
        lease_until=iso(now + LEASE_SECONDS),
    )
    if claimed is None or claimed.circuit is None:
        return "taken"
    if claimed.disabled:
        expire(claimed, now)
        _schedule(claimed, now + DISABLED_RECHECK_SECONDS, count_attempt=False)
        return "disabled"
    if claimed.circuit.state == "draining":
        return drain(claimed)
    entries = backlog.oldest(environment_id, subscription_id, limit=1)
    if not entries:
        if subscriptions_store.close_circuit(
            environment_id, subscription_id, backlog_seq=claimed.circuit.backlog_seq
        ):
            return "closed"
        _schedule(claimed, now, count_attempt=False)  # something arrived: look again
        return "retry"
    entry = entries[0]
    outcome = post(claimed, entry.head, now)
    record = attempt_record(outcome, now)
    if outcome.succeeded:
        log_attempt(entry.head, record, "succeeded")
        backlog.replace(entry, entry.messages[1:], window_seconds=window_seconds())
        draining = subscriptions_store.start_draining(
            environment_id, subscription_id, lease_until=iso(now + LEASE_SECONDS)
        )
        return drain(draining) if draining is not None else "succeeded"
    after = subscriptions_store.record_failure(environment_id, subscription_id, iso(now))
    disable_if_failing_too_long(after or claimed, now)
    next_probe = now + probe_delay(
        claimed.circuit.probe_attempts + 1, rng=_rng, scale=get_settings().webhook_backoff_scale
    )
    # Like the shared path: the last attempt lands at the end of the notification's window.
    window_end = entry.head.window_started_at + window_seconds()
    if window_end <= now:
        log_attempt(entry.head, record, "dead")
        queue.park(entry.head)
        give_up(entry.messages[1:])  # they share its window
        backlog.remove([entry])
        next_probe = now  # the next notification in the backlog is due at once
    else:
        next_probe = min(next_probe, window_end)
        record["next_attempt_at"] = iso(next_probe)
        log_attempt(entry.head, record, "backlogged")
    expire(claimed, now)  # the rest of the backlog whose windows ended meanwhile
    _schedule(claimed, next_probe, count_attempt=True)
    return "failed"


def _schedule(subscription: Subscription, at: float, *, count_attempt: bool) -> None:
    subscriptions_store.schedule_probe(
        subscription.environment_id,
        subscription.id,
        next_probe_at=iso(at),
        count_attempt=count_attempt,
    )
