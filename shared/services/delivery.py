"""One delivery attempt of one queued notification, and what follows from its outcome."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

from shared.clock import format_timestamp
from shared.settings import get_settings
from shared.store import webhooks as webhooks_store
from shared.store.webhooks import Subscription
from shared.webhooks import queue, sender
from shared.webhooks.backoff import DISABLE_AFTER, parse_retry_after, retry_delay
from shared.webhooks.messages import DeliveryMessage
from shared.webhooks.signing import standard_webhook_headers, userflow_signature

USER_AGENT = "Waymark/1.0 (Userflow-compatible webhooks)"
_rng = random.Random()


class RetryLater(Exception):
    """The attempt failed; the message was postponed and must stay in the queue."""

    def __init__(self, details: dict[str, Any]) -> None:
        super().__init__(str(details.get("error")))
        self.details = details


def _iso(unix_seconds: float) -> str:
    return format_timestamp(datetime.fromtimestamp(unix_seconds, UTC))


def deliver(body: str, receipt_handle: str, attempt: int) -> str:
    """Attempt a delivery; returns "succeeded", "skipped" or "dead", or raises RetryLater."""
    try:
        message = DeliveryMessage.from_json(body)
    except ValueError:
        queue.park_raw(body)  # it can never be delivered; keep it for a person to look at
        return "dead"
    subscription = webhooks_store.get(message.environment_id, message.subscription_id)
    if subscription is None or subscription.disabled:
        return "skipped"  # deleted or disabled since: nothing new goes out

    settings = get_settings()
    payload = message.body.encode()
    now = time.time()
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
    outcome = sender.post(
        subscription.url, payload, headers, allow_loopback=settings.webhooks_allow_loopback
    )
    record: dict[str, Any] = {
        "attempted_at": _iso(now),
        "status_code": outcome.status_code,
        "duration_ms": outcome.duration_ms,
        "error": outcome.error,
        "next_attempt_at": None,
    }
    if outcome.succeeded:
        webhooks_store.record_attempt(message, record, "succeeded")
        if subscription.failing_since:  # end the failing streak; no write when there is none
            webhooks_store.mark_success(message.environment_id, message.subscription_id)
        return "succeeded"

    _disable_if_failing_too_long(message, now)
    retry_after = (
        parse_retry_after(outcome.retry_after, now) if outcome.status_code in (429, 503) else None
    )
    delay = retry_delay(
        attempt,
        first_attempt_at=message.window_started_at,
        now=now,
        retry_after=retry_after,
        rng=_rng,
        scale=settings.webhook_backoff_scale,
    )
    if delay is None:
        queue.park(message)
        webhooks_store.record_attempt(message, record, "dead")
        return "dead"
    record["next_attempt_at"] = _iso(now + delay)
    webhooks_store.record_attempt(message, record, "failed")
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


def signing_secrets(subscription: Subscription, now: float) -> list[str]:
    """The current secret, and the previous one while its rotation grace period lasts."""
    secrets = [subscription.secret]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires and _unix(expires) > now:
        secrets.append(subscription.previous_secret)
    return secrets


def _unix(value: str | float) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(value).timestamp()


def _disable_if_failing_too_long(message: DeliveryMessage, now: float) -> None:
    failing_since = webhooks_store.mark_failure(
        message.environment_id, message.subscription_id, _iso(now)
    )
    limit = DISABLE_AFTER.total_seconds() * get_settings().webhook_backoff_scale
    if failing_since and now - _unix(failing_since) > limit:
        webhooks_store.disable(
            message.environment_id,
            message.subscription_id,
            reason="Every delivery failed for 5 days.",
            at=_iso(now),
        )
