"""A local KMS for the local stack: the calls Waymark makes, over KMS's JSON protocol.

Why not moto's: moto keeps its keys in memory, so every `make dev` would start with a new key
while DynamoDB Local keeps the table, and the webhook secrets sealed under the old key would
never open again. Here a key's material can live in a file (`.local/kms.json` for `make dev`;
in memory for tests), so a restarted stack opens what it sealed before.

What it does: CreateKey, GenerateDataKey (AES_256 or NumberOfBytes) and Decrypt, with the
encryption context bound to the ciphertext as KMS binds it (a wrong or missing context is an
InvalidCiphertextException). A ciphertext is `wmlocal1` + the key id + a nonce + AES-GCM of
the data key under the key's material. Not a security boundary: a development stand-in.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from infra.local.json_protocol import LocalService, Protocol, ServiceError

ACCOUNT = "000000000000"
REGION = "us-east-1"
_MAGIC = b"wmlocal1"
_KEY_ID_BYTES = 36  # a UUID as text
_NONCE_BYTES = 12


class KmsError(ServiceError):
    pass


KMS_PROTOCOL = Protocol(
    name="KMS",
    content_type="application/x-amz-json-1.1",
    internal_error="KMSInternalException",
    unknown_action="UnsupportedOperationException",
)


class LocalKms(LocalService):
    """Keys (in a file, or in memory) and their HTTP front door on a loopback port."""

    protocol = KMS_PROTOCOL

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state: Path | None = None) -> None:
        super().__init__(host, port)
        self.state = state
        self._keys: dict[str, bytes] = {}
        if state is not None and state.exists():
            saved = json.loads(state.read_text())
            self._keys = {key_id: base64.b64decode(material) for key_id, material in saved.items()}
        self._lock = threading.Lock()

    def arn(self, key_id: str) -> str:
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"

    def ensure_key(self) -> str:
        """The ARN of the (first) key, created if there is none: what the stack seals under."""
        with self._lock:
            existing = next(iter(self._keys), None)
        if existing is not None:
            return self.arn(existing)
        return str(self.call("CreateKey", {})["KeyMetadata"]["Arn"])

    # --- the API --------------------------------------------------------------------------

    def _CreateKey(self, arguments: dict[str, Any]) -> dict[str, Any]:
        key_id = str(uuid.uuid4())
        with self._lock:
            self._keys[key_id] = os.urandom(32)
            self._save()
        return {
            "KeyMetadata": {
                "KeyId": key_id,
                "Arn": self.arn(key_id),
                "KeyState": "Enabled",
                "KeySpec": "SYMMETRIC_DEFAULT",
                "KeyUsage": "ENCRYPT_DECRYPT",
            }
        }

    def _GenerateDataKey(self, arguments: dict[str, Any]) -> dict[str, Any]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key_id = self._key_id(str(arguments.get("KeyId", "")))
        size = 32 if arguments.get("KeySpec") == "AES_256" else 16
        size = int(arguments.get("NumberOfBytes") or size)
        data_key = os.urandom(size)
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self._material(key_id)).encrypt(
            nonce, data_key, _context(arguments.get("EncryptionContext"))
        )
        blob = _MAGIC + key_id.encode() + nonce + sealed
        return {
            "KeyId": self.arn(key_id),
            "CiphertextBlob": base64.b64encode(blob).decode(),
            "Plaintext": base64.b64encode(data_key).decode(),
        }

    def _Decrypt(self, arguments: dict[str, Any]) -> dict[str, Any]:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        blob = base64.b64decode(arguments.get("CiphertextBlob", ""))
        if not blob.startswith(_MAGIC):
            raise KmsError("InvalidCiphertextException", "Not a ciphertext of this KMS.")
        rest = blob[len(_MAGIC) :]
        key_id = rest[:_KEY_ID_BYTES].decode(errors="replace")
        nonce = rest[_KEY_ID_BYTES : _KEY_ID_BYTES + _NONCE_BYTES]
        sealed = rest[_KEY_ID_BYTES + _NONCE_BYTES :]
        try:
            data_key = AESGCM(self._material(key_id)).decrypt(
                nonce, sealed, _context(arguments.get("EncryptionContext"))
            )
        except InvalidTag:
            raise KmsError("InvalidCiphertextException", "The ciphertext does not open.") from None
        return {
            "KeyId": self.arn(key_id),
            "Plaintext": base64.b64encode(data_key).decode(),
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }

    def _key_id(self, key: str) -> str:
        key_id = key.rsplit("/", 1)[-1]
        with self._lock:
            if key_id not in self._keys:
                raise KmsError("NotFoundException", f"Key '{key}' does not exist")
        return key_id

    def _material(self, key_id: str) -> bytes:
        with self._lock:
            material = self._keys.get(key_id)
        if material is None:
            raise KmsError("NotFoundException", f"Key '{key_id}' does not exist")
        return material

    def _save(self) -> None:
        if self.state is None:
            return
        self.state.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state.with_suffix(".tmp")
        partial.write_text(
            json.dumps({k: base64.b64encode(v).decode() for k, v in self._keys.items()})
        )
        partial.chmod(0o600)  # key material
        partial.replace(self.state)


def _context(context: Any) -> bytes:
    """The encryption context as the associated data: the same pairs, in any order."""
    return json.dumps(context or {}, sort_keys=True, separators=(",", ":")).encode()
