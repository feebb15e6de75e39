"""Webhook secrets and signatures.

Every request carries the reference's `Userflow-Signature` and, for receivers that use a
Standard Webhooks library, the `webhook-id`/`webhook-timestamp`/`webhook-signature` headers.
A secret is `whsec_` and 32 characters of [a-z2-7]: 20 random bytes in lowercase base32, which
is also valid (standard-alphabet) base64, so Standard Webhooks receivers can decode the same
secret into a 24-byte key. Userflow signatures key the HMAC with the whole secret string.

During a rotation grace period both secrets sign, one signature each, in the order given.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _random
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 20  # 160 bits: exactly 32 base32 characters, no padding


def new_secret() -> str:
    encoded = base64.b32encode(_random.token_bytes(_SECRET_BYTES)).decode("ascii")
    return SECRET_PREFIX + encoded.lower()


def userflow_signature(secrets: Sequence[str], body: bytes, timestamp: int) -> str:
    """`t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>[,v1=...]`."""
    _require(secrets)
    message = f"{int(timestamp)}.".encode() + body
    signatures = [
        "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest() for secret in secrets
    ]
    return ",".join([f"t={int(timestamp)}", *signatures])


def standard_webhook_headers(
    message_id: str, secrets: Sequence[str], body: bytes, timestamp: int
) -> dict[str, str]:
    """The Standard Webhooks headers: `webhook-signature` is space-separated `v1,<base64>`."""
    _require(secrets)
    message = f"{message_id}.{int(timestamp)}.".encode() + body
    signatures = [
        "v1," + base64.b64encode(hmac.new(_key(s), message, hashlib.sha256).digest()).decode()
        for s in secrets
    ]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(signatures),
    }


def _key(secret: str) -> bytes:
    # As the reference libraries do: base64 after the prefix, padding optional.
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==")


def _require(secrets: Sequence[str]) -> None:
    if isinstance(secrets, str) or not secrets or not all(secrets):
        raise ValueError("Signing needs at least one secret (a sequence of non-empty strings).")
