"""Webhook secrets at rest: envelope encryption under the stack's KMS key.

A secret is stored sealed: AES-256-GCM under a data key that KMS generated, and that KMS
alone can decrypt (the stack's key, WEBHOOK_SECRETS_KEY_ID). The sealed text carries the
encrypted data key, so the table, its stream and its backups never hold a secret or a usable
key in clear. The subscription (environment and id) is the GCM associated data: a sealed
secret copied onto another subscription does not open.

Each container asks KMS for one data key (GenerateDataKey) the first time it seals, and
keeps the plaintext data keys it has generated or decrypted in memory: sealing costs one KMS
call per container, opening one per data key a container has not seen (the delivery
function sees the keys of the few containers that created subscriptions).

Secrets stored before encryption (plain `whsec_...` text) still open as they are; the next
rotation stores the new one sealed.
"""

from __future__ import annotations

import base64
import os
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from shared import aws
from shared.settings import get_settings

SEALED_PREFIX = "wmk1."
# Bound into every data key: KMS refuses to decrypt a data key under another context.
ENCRYPTION_CONTEXT = {"waymark": "webhook-secret"}
_NONCE_BYTES = 12
_CACHED_KEYS = 256

_lock = threading.Lock()
_current: tuple[bytes, bytes] | None = None  # (plaintext data key, encrypted data key)
_opened: OrderedDict[bytes, bytes] = OrderedDict()  # encrypted data key -> plaintext


class SealingError(RuntimeError):
    """A stored secret does not open: tampered with, or sealed for another subscription."""


@lru_cache(maxsize=1)
def client() -> Any:
    """One KMS client per container, like `shared.store.dynamo.client`."""
    return aws.client("kms", get_settings().kms_endpoint_url)


def reset() -> None:
    """Forget the client, the settings and every data key (tests switch keys and endpoints)."""
    global _current
    client.cache_clear()
    get_settings.cache_clear()
    with _lock:
        _current = None
        _opened.clear()


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


def seal(secret: str, subscription: str) -> str:
    """The text to store for `secret`, bound to `subscription` ("<environment>/<id>")."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, encrypted_key = _data_key()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), subscription.encode())
    return SEALED_PREFIX + ".".join(_b64(part) for part in (encrypted_key, nonce, sealed))


def unseal(stored: str, subscription: str) -> str:
    """The secret a stored text holds (a secret stored before encryption comes back as is)."""
    if not is_sealed(stored):
        return stored
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        encrypted_key, nonce, sealed = (
            _unb64(part) for part in stored.removeprefix(SEALED_PREFIX).split(".")
        )
    except ValueError:
        raise SealingError("A stored webhook secret is malformed.") from None
    try:
        return (
            AESGCM(_open_key(encrypted_key)).decrypt(nonce, sealed, subscription.encode()).decode()
        )
    except InvalidTag:
        raise SealingError("A stored webhook secret does not open for its subscription.") from None


def _data_key() -> tuple[bytes, bytes]:
    global _current
    with _lock:
        if _current is not None:
            return _current
    answer = client().generate_data_key(
        KeyId=get_settings().require("webhook_secrets_key_id"),
        KeySpec="AES_256",
        EncryptionContext=ENCRYPTION_CONTEXT,
    )
    generated = (bytes(answer["Plaintext"]), bytes(answer["CiphertextBlob"]))
    with _lock:
        if _current is None:
            _current = generated
            _remember(generated[1], generated[0])
        return _current


def _open_key(encrypted_key: bytes) -> bytes:
    with _lock:
        known = _opened.get(encrypted_key)
        if known is not None:
            _opened.move_to_end(encrypted_key)
            return known
    # No KeyId: the encrypted data key names its KMS key; the context must match.
    answer = client().decrypt(CiphertextBlob=encrypted_key, EncryptionContext=ENCRYPTION_CONTEXT)
    key = bytes(answer["Plaintext"])
    with _lock:
        _remember(encrypted_key, key)
    return key


def _remember(encrypted_key: bytes, key: bytes) -> None:
    _opened[encrypted_key] = key
    _opened.move_to_end(encrypted_key)
    while len(_opened) > _CACHED_KEYS:
        _opened.popitem(last=False)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
