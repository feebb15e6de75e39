"""Signatures, checked by verifiers written independently of the signing code: the reference's
"Verifying signatures" steps, done literally, and the `standardwebhooks` package."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from shared.webhooks.signing import new_secret, standard_webhook_headers, userflow_signature

BODY = (
    '{"id":"ec3a21f3-88fe-43e8-8711-cfc803aaad54","object":"webhook_notification",'
    '"topic":"event.tracked.signed_up","data":{"object":{"name":"Zoë"}}}'
).encode()
SECRET = "whsec_56nfnf5isvf5pldjcyesd4rxeq"  # the reference's example secret


def verify_userflow_signature(body: bytes, header: str, secret: str, now: float) -> None:
    """The reference's steps, one by one; raises on an invalid signature."""
    # 1. The header, the raw body as a string, and the secret.
    raw_body = body.decode("utf-8")
    # 2. Split by ",", each pair by "=": t is the timestamp, v1 a signature (rotations
    #    send one v1 per secret, so collect them all).
    timestamp = None
    signatures = []
    for part in header.split(","):
        key, value = part.split("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise ValueError("Missing t")
    if not signatures:
        raise ValueError("Missing v1 signature")
    # 3. Reject timestamps more than 300 seconds in the past.
    if now - int(timestamp) > 300:
        raise ValueError("Timestamp is more than 300 seconds ago")
    # 4. The signed payload: timestamp, ".", raw body.
    signed_payload = timestamp + "." + raw_body
    # 5. HMAC-SHA256 keyed with the secret.
    expected = hmac.new(
        secret.encode("utf-8"), signed_payload.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    # 6. Compare.
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise ValueError("Incorrect signature")


def test_new_secrets_look_like_the_references() -> None:
    secrets = {new_secret() for _ in range(200)}
    assert len(secrets) == 200
    for secret in secrets:
        assert re.fullmatch(r"whsec_[a-z2-7]{32}", secret)


def test_new_secrets_are_standard_webhooks_keys_too() -> None:
    secret = new_secret()
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24
    Webhook(secret)  # accepted by the reference library


def test_userflow_signature_format() -> None:
    header = userflow_signature([SECRET], BODY, 1578424823)
    assert re.fullmatch(r"t=1578424823,v1=[0-9a-f]{64}", header)


def test_userflow_signature_known_value() -> None:
    header = userflow_signature(["whsec_test"], b'{"a":1}', 1578424823)
    expected = hmac.new(b"whsec_test", b'1578424823.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1578424823,v1={expected}"


@pytest.mark.parametrize("secret", [SECRET, "whsec_" + "a" * 32])
def test_userflow_signature_verifies_as_the_reference_describes(secret: str) -> None:
    now = time.time()
    header = userflow_signature([secret], BODY, int(now))
    verify_userflow_signature(BODY, header, secret, now)


def test_userflow_signature_verifies_with_a_new_secret() -> None:
    secret, now = new_secret(), time.time()
    verify_userflow_signature(BODY, userflow_signature([secret], BODY, int(now)), secret, now)


@pytest.mark.parametrize(
    ("body", "secret", "age"),
    [
        (BODY.replace(b"Zo", b"Jo"), SECRET, 0),
        (BODY, "whsec_56nfnf5isvf5pldjcyesd4rxeQ", 0),
        (BODY, SECRET, 301),
    ],
)
def test_tampered_or_stale_requests_fail_verification(body: bytes, secret: str, age: int) -> None:
    now = time.time()
    header = userflow_signature([SECRET], BODY, int(now) - age)
    with pytest.raises(ValueError):
        verify_userflow_signature(body, header, secret, now)


def test_a_changed_timestamp_fails_verification() -> None:
    now = int(time.time())
    header = userflow_signature([SECRET], BODY, now)
    forged = header.replace(f"t={now}", f"t={now + 1}")
    with pytest.raises(ValueError, match="Incorrect"):
        verify_userflow_signature(BODY, forged, SECRET, now)


def test_rotation_signs_with_every_secret_in_order() -> None:
    new, old, now = new_secret(), new_secret(), time.time()
    header = userflow_signature([new, old], BODY, int(now))
    parts = header.split(",")
    assert [p.split("=")[0] for p in parts] == ["t", "v1", "v1"]
    assert parts[1] == userflow_signature([new], BODY, int(now)).split(",")[1]
    assert parts[2] == userflow_signature([old], BODY, int(now)).split(",")[1]
    verify_userflow_signature(BODY, header, new, now)
    verify_userflow_signature(BODY, header, old, now)
    with pytest.raises(ValueError):
        verify_userflow_signature(BODY, header, new_secret(), now)


@pytest.mark.parametrize("secrets", [[], [""], "whsec_abc"])
def test_signing_needs_a_secret(secrets: list[str]) -> None:
    with pytest.raises(ValueError):
        userflow_signature(secrets, BODY, 1)
    with pytest.raises(ValueError):
        standard_webhook_headers("msg", secrets, BODY, 1)


def test_standard_webhook_headers_shape() -> None:
    headers = standard_webhook_headers("msg_1", [new_secret()], BODY, 1578424823)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == "1578424823"
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", headers["webhook-signature"])


@pytest.mark.parametrize("secret", [None, SECRET])
def test_standard_webhooks_library_verifies_our_headers(secret: str | None) -> None:
    secret = secret or new_secret()
    headers = standard_webhook_headers("c30d70fd", [secret], BODY, int(time.time()))
    assert Webhook(secret).verify(BODY, headers) == {
        "id": "ec3a21f3-88fe-43e8-8711-cfc803aaad54",
        "object": "webhook_notification",
        "topic": "event.tracked.signed_up",
        "data": {"object": {"name": "Zoë"}},
    }


def test_standard_webhooks_rotation_verifies_with_either_secret() -> None:
    new, old = new_secret(), new_secret()
    headers = standard_webhook_headers("m", [new, old], BODY, int(time.time()))
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(BODY, headers)
    Webhook(old).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("webhook-id", "another"),
        ("webhook-timestamp", "1"),
    ],
)
def test_standard_webhooks_library_rejects_tampering(change: str, value: str) -> None:
    secret = new_secret()
    headers = standard_webhook_headers("m", [secret], BODY, int(time.time()))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, change: value})
