"""One delivery attempt of one queued notification, and what follows from its outcome.

The shared path (the delivery queue) carries only receivers believed healthy:
- A receiver that fails `TRIP_AFTER_FAILURES` times in a row, or times out once, gets an open
  circuit: this message and every later one wait in the subscription's backlog, off the
  shared queue, and the probe function (shared/services/probing.py) tries one at a time on
  the backoff schedule until the receiver answers, then drains the backlog back.
- Two attempts at once not answered within `SLOW_AFTER_SECONDS` open the circuit as well (the
  receiver is presumed hanging): later notifications wait in the backlog instead of each
  holding a delivery slot for 15 s, while those attempts still get their full 15 s. A hanging
  receiver so costs the attempts of its first two seconds, then nothing more than a refusing
  one; one slow answer now and then trips nothing. If a slow attempt succeeds after all while
  the circuit is open, the receiver is alive: the backlog drains at once.
- The delivery log is best effort: a log write that fails never makes a delivered
  notification go out again, nor stops a failed one from being retried.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime
from typing import Any

from shared.clock import format_timestamp
from shared.settings import get_settings
from shared.store import backlog, deliveries
from shared.store import subscriptions as subscriptions_store
from shared.store.deliveries import DeliveryStatus
from shared.store.subscriptions import Subscription
from shared.webhooks import bodies, queue, sender
from shared.webhooks.backoff import (
    DELIVERY_WINDOW,
    DISABLE_AFTER,
    parse_retry_after,
    probe_delay,
    retry_delay,
)
from shared.webhooks.messages import DeliveryMessage
from shared.webhooks.sender import Outcome
from shared.webhooks.signing import standard_webhook_headers, userflow_signature

log = logging.getLogger(__name__)

USER_AGENT = "Waymark/1.0 (Userflow-compatible webhooks)"
TRIP_AFTER_FAILURES = 3
# Receivers are asked to answer at once (the reference says so); one that takes this long is
# hanging far more often than it is working.
SLOW_AFTER_SECONDS = 2.0
_rng = random.Random()


class RetryLater(Exception):
    """The attempt failed; the message was postponed and must stay in the queue."""

    def __init__(self, details: dict[str, Any]) -> None:
        super().__init__(str(details.get("error")))
        self.details = details


def deliver(body: str, receipt_handle: str, attempt: int) -> str:
    """Attempt a delivery; returns "succeeded", "skipped", "backlogged" or "dead", or raises
    RetryLater."""
    try:
        message = DeliveryMessage.from_json(body)
    except ValueError:
        queue.park_raw(body)  # it can never be delivered; keep it for a person to look at
        return "dead"
    env, sub = message.environment_id, message.subscription_id
    subscription = subscriptions_store.get(env, sub)
    if subscription is not None and _circuit_open(subscription) and not subscription.disabled:
        if hold(message):
            return "backlogged"  # no attempt yet: its first one is logged when it comes
        subscription = subscriptions_store.get(env, sub)  # the circuit closed meanwhile
    if subscription is None or subscription.disabled:
        return "skipped"  # deleted or disabled since: nothing new goes out

    now = time.time()
    was_slow = False

    def on_slow() -> None:
        nonlocal was_slow
        was_slow = True
        noted = time.time()
        deadline = iso(now + sender.TIMEOUT_SECONDS)
        if subscriptions_store.mark_slow(env, sub, now=iso(noted), until=deadline):
            open_circuit(env, sub, noted)

    outcome = post(subscription, message, now, on_slow=on_slow)
    record = attempt_record(outcome, now)
    if outcome.succeeded:
        log_attempt(message, record, "succeeded")
        if was_slow or subscription.failing_since or subscription.consecutive_failures:
            subscriptions_store.record_success(env, sub)
        if was_slow:
            resume_if_held(env, sub)
        return "succeeded"

    after = subscriptions_store.record_failure(env, sub, iso(now)) or subscription
    disable_if_failing_too_long(after, now)
    if (
        _circuit_open(after)
        or after.consecutive_failures >= TRIP_AFTER_FAILURES
        or outcome.timed_out
    ):
        if not _circuit_open(after):
            open_circuit(env, sub, now)
        if hold(message):
            # Its next attempt comes when the probe reaches it (the subscription's circuit
            # says when the receiver is next tried).
            log_attempt(message, record, "backlogged")
            return "backlogged"

    delay = retry_delay(
        attempt,
        first_attempt_at=message.window_started_at,
        now=now,
        retry_after=_retry_after(outcome, now),
        rng=_rng,
        scale=_scale(),
    )
    if delay is None:
        queue.park(message)
        log_attempt(message, record, "dead")
        return "dead"
    record["next_attempt_at"] = iso(now + delay)
    log_attempt(message, record, "failed")
    queue.postpone(receipt_handle, delay)
    raise RetryLater(
        {
            "delivery_id": message.delivery_id,
            "subscription_id": message.subscription_id,
            "attempt": attempt,
            "error": outcome.error,
            "retry_in_seconds": round(delay, 1),
        }
    )


def post(
    subscription: Subscription,
    message: DeliveryMessage,
    now: float,
    *,
    on_slow: Any = None,
) -> Outcome:
    """One signed POST of the message's notification (signed anew on every attempt)."""
    settings = get_settings()
    payload = (message.body if message.body is not None else load_body(message)).encode()
    secrets = signing_secrets(subscription, now)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Userflow-Signature": userflow_signature(secrets, payload, int(now)),
    }
    if subscription.standard_webhooks:
        headers.update(
            standard_webhook_headers(message.notification_id, secrets, payload, int(now))
        )
    return sender.post(
        subscription.url,
        payload,
        headers,
        allow_loopback=settings.webhooks_allow_loopback,
        slow_after=SLOW_AFTER_SECONDS if on_slow is not None else None,
        on_slow=on_slow,
    )


def load_body(message: DeliveryMessage) -> str:
    assert message.body_key is not None  # a message has a body or its key
    return bodies.load(message.body_key)


def attempt_record(outcome: Outcome, now: float) -> dict[str, Any]:
    """An attempt as the delivery log keeps it."""
    return {
        "attempted_at": iso(now),
        "status_code": outcome.status_code,
        "duration_ms": outcome.duration_ms,
        "error": outcome.error,
        "response_excerpt": outcome.response_excerpt,
        "next_attempt_at": None,
    }


def resume_if_held(environment_id: str, subscription_id: str) -> None:
    """A slow attempt answered 2xx: if a circuit opened meanwhile, the receiver is alive after
    all, so its backlog drains now rather than at the next probe."""
    from shared.services.backlogs import LEASE_SECONDS, drain  # backlogs imports this module

    current = subscriptions_store.get(environment_id, subscription_id)
    if current is None or not _circuit_open(current):
        return
    draining = subscriptions_store.start_draining(
        environment_id, subscription_id, lease_until=iso(time.time() + LEASE_SECONDS)
    )
    if draining is not None:
        drain(draining)


def open_circuit(environment_id: str, subscription_id: str, now: float) -> bool:
    """Opens the circuit, with the first probe on the backoff schedule; True if this did."""
    return subscriptions_store.open_circuit(
        environment_id,
        subscription_id,
        now=iso(now),
        next_probe_at=iso(now + probe_delay(1, rng=_rng, scale=_scale())),
    )


def hold(message: DeliveryMessage) -> bool:
    """Puts the message in its subscription's backlog if the circuit is open (False if not)."""
    return not backlog.add([message], window_seconds=window_seconds())


def window_seconds() -> float:
    return DELIVERY_WINDOW.total_seconds() * _scale()


def signing_secrets(subscription: Subscription, now: float) -> list[str]:
    """The current secret, and the previous one while its rotation grace period lasts."""
    secrets = [subscription.secret]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires and _unix(expires) > now:
        secrets.append(subscription.previous_secret)
    return secrets


def disable_if_failing_too_long(subscription: Subscription, now: float) -> None:
    limit = DISABLE_AFTER.total_seconds() * _scale()
    since = subscription.failing_since
    if since and not subscription.disabled and now - _unix(since) > limit:
        subscriptions_store.disable(
            subscription.environment_id,
            subscription.id,
            reason="Every delivery failed for 5 days.",
            at=iso(now),
        )


def log_attempt(message: DeliveryMessage, record: dict[str, Any], status: DeliveryStatus) -> None:
    """Best effort: the outcome already happened, and a failed write must not undo it."""
    try:
        deliveries.record_attempt(message, record, status)
    except Exception:
        log.exception("Could not log a delivery attempt (delivery %s)", message.delivery_id)


def log_status(message: DeliveryMessage, status: DeliveryStatus) -> None:
    """Best effort, like `log_attempt`."""
    try:
        deliveries.record_status(message, status)
    except Exception:
        log.exception("Could not log a delivery status (delivery %s)", message.delivery_id)


def _circuit_open(subscription: Subscription) -> bool:
    return subscription.circuit is not None and subscription.circuit.state == "open"


def _retry_after(outcome: Outcome, now: float) -> float | None:
    if outcome.status_code not in (429, 503):
        return None
    return parse_retry_after(outcome.retry_after, now)


def _scale() -> float:
    return get_settings().webhook_backoff_scale


def iso(unix_seconds: float) -> str:
    return format_timestamp(datetime.fromtimestamp(unix_seconds, UTC))


def _unix(value: str | float) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(value).timestamp()
