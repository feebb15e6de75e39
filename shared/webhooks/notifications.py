"""A webhook notification and the body a receiver gets (from_stream.py derives them from the
table's stream records)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Notification:
    id: str
    environment_id: str
    topic: str
    created_at: str
    data: dict[str, Any]


def notification_body(n: Notification, api_version: str) -> bytes:
    """The request body: the reference's webhook notification object, as compact UTF-8 JSON."""
    payload = {
        "id": n.id,
        "object": "webhook_notification",
        "api_version": api_version,
        "created_at": n.created_at,
        "data": n.data,
        "topic": n.topic,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
