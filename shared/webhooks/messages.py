"""The delivery queue's message: one notification for one subscription."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import asdict, dataclass, fields
from typing import Any

# Fixed forever: a delivery id is uuid5(namespace, "<notification id>/<subscription id>"), so
# enqueueing a notification twice for a subscription names the same delivery.
DELIVERY_NAMESPACE = uuid.UUID("0e1e68d6-115a-4dea-b69d-dc7fd56b626d")


OPTIONAL = frozenset({"body", "body_key"})  # one or the other


@dataclass(frozen=True)
class DeliveryMessage:
    environment_id: str
    subscription_id: str
    delivery_id: str
    notification_id: str
    topic: str
    # The notification's JSON, exactly as it will be POSTed and signed; or, for one too large
    # to travel in a queue message, `body_key`: where it waits in the bodies bucket.
    body: str | None
    created_at: str  # the notification's
    window_started_at: float  # unix seconds; the 3-day retry window ends 3 days later
    body_key: str | None = None

    def __post_init__(self) -> None:
        if (self.body is None) == (self.body_key is None):
            raise ValueError("Delivery message: exactly one of `body` and `body_key` is set.")

    def to_json(self) -> str:
        present = {name: value for name, value in asdict(self).items() if value is not None}
        return json.dumps(present, separators=(",", ":"), ensure_ascii=False)

    def size(self) -> int:
        """Bytes of the queue message body (SQS counts UTF-8 bytes)."""
        return len(self.to_json().encode())

    @classmethod
    def from_json(cls, text: str) -> DeliveryMessage:
        """Parse a queue message body; unknown keys are ignored (a newer writer's additions)."""
        try:
            raw = json.loads(text)
        except (TypeError, ValueError) as error:
            raise ValueError(f"Delivery message is not JSON: {error}") from None
        if not isinstance(raw, dict):
            raise ValueError("Delivery message must be a JSON object.")
        values: dict[str, Any] = {}
        for field in fields(cls):
            value = raw.get(field.name)
            if field.name == "window_started_at":
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not math.isfinite(value)
                ):
                    raise ValueError("Delivery message: `window_started_at` must be a number.")
                value = float(value)
            elif field.name in OPTIONAL and value is None:
                pass
            elif not isinstance(value, str) or not value:
                raise ValueError(f"Delivery message: `{field.name}` must be a non-empty string.")
            values[field.name] = value
        return cls(**values)


def delivery_id_for(notification_id: str, subscription_id: str) -> str:
    return str(uuid.uuid5(DELIVERY_NAMESPACE, f"{notification_id}/{subscription_id}"))
