"""Identifiers Waymark assigns (users and groups keep the ids clients give them)."""

from __future__ import annotations

import secrets
import threading
import time
import uuid

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_lock = threading.Lock()
_last = (0, 0)  # (milliseconds, random part) of the last sortable id from this process


def new_id() -> str:
    return str(uuid.uuid4())


def sortable_id() -> str:
    """26 characters whose lexical order is creation order (ULID layout, lowercase).

    Monotonic within a process: ids made in the same millisecond count up, so a client's
    quick successive writes keep their order.
    """
    global _last
    now_ms = int(time.time() * 1000)
    with _lock:
        last_ms, last_random = _last
        if now_ms <= last_ms:
            now_ms, random_part = last_ms, last_random + 1
        else:
            random_part = secrets.randbits(79)  # leaves room to count up
        _last = (now_ms, random_part)
    value = (now_ms << 80) | random_part
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))
