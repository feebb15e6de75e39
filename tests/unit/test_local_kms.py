"""The local KMS: data keys that only open with their context, and keys that survive a
restart when kept in a file (as `make dev` keeps them)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from infra.local.kms import KmsError, LocalKms

CONTEXT = {"waymark": "webhook-secret"}


def test_a_data_key_opens_with_its_context_only() -> None:
    kms = LocalKms()
    key = kms.ensure_key()
    made = kms.call(
        "GenerateDataKey", {"KeyId": key, "KeySpec": "AES_256", "EncryptionContext": CONTEXT}
    )
    assert len(base64.b64decode(made["Plaintext"])) == 32
    opened = kms.call(
        "Decrypt", {"CiphertextBlob": made["CiphertextBlob"], "EncryptionContext": CONTEXT}
    )
    assert opened["Plaintext"] == made["Plaintext"]
    assert opened["KeyId"] == key
    with pytest.raises(KmsError, match="does not open"):
        kms.call("Decrypt", {"CiphertextBlob": made["CiphertextBlob"]})


def test_an_unknown_key_or_ciphertext_is_refused() -> None:
    kms = LocalKms()
    with pytest.raises(KmsError, match="does not exist"):
        kms.call("GenerateDataKey", {"KeyId": "arn:aws:kms:us-east-1:000000000000:key/nope"})
    with pytest.raises(KmsError, match="Not a ciphertext"):
        kms.call("Decrypt", {"CiphertextBlob": base64.b64encode(b"junk").decode()})


def test_a_kept_key_opens_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "kms.json"
    first = LocalKms(state=state)
    key = first.ensure_key()
    made = first.call("GenerateDataKey", {"KeyId": key, "KeySpec": "AES_256"})
    restarted = LocalKms(state=state)
    assert restarted.ensure_key() == key
    opened = restarted.call("Decrypt", {"CiphertextBlob": made["CiphertextBlob"]})
    assert opened["Plaintext"] == made["Plaintext"]
    assert state.stat().st_mode & 0o777 == 0o600
