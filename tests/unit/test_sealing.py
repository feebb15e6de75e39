"""Webhook secrets at rest: sealed under the stack's KMS key (envelope encryption), opened only
to sign; secrets stored before encryption keep working."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.store import dynamo, keys
from shared.store import subscriptions as store
from shared.webhooks import sealing

URL = "https://example.com/hooks"


def _create(environment: str) -> store.Subscription:
    return store.create(environment, api_version="2020-01-03", topics=["user"], url=URL)


def _kms_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    client = sealing.client()
    real_generate, real_decrypt = client.generate_data_key, client.decrypt

    def generate(**arguments: Any) -> Any:
        calls.append("GenerateDataKey")
        return real_generate(**arguments)

    def decrypt(**arguments: Any) -> Any:
        calls.append("Decrypt")
        return real_decrypt(**arguments)

    monkeypatch.setattr(client, "generate_data_key", generate)
    monkeypatch.setattr(client, "decrypt", decrypt)
    return calls


def _stored(environment: str, subscription_id: str) -> dict[str, Any]:
    found = dynamo.client().get_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.webhook_subscription(environment, subscription_id)),
    )
    return dynamo.from_item(found["Item"])


def test_a_sealed_secret_opens_for_its_subscription_only(table: str) -> None:
    sealed = sealing.seal("whsec_abc", "env_a/sub_1")
    assert sealing.is_sealed(sealed) and "whsec_abc" not in sealed
    assert sealing.unseal(sealed, "env_a/sub_1") == "whsec_abc"
    with pytest.raises(sealing.SealingError, match="does not open"):
        sealing.unseal(sealed, "env_a/sub_2")


def test_the_table_never_holds_a_secret_in_clear(environment: str) -> None:
    subscription = _create(environment)
    secret = subscription.secret
    rotated = store.rotate_secret(environment, subscription.id, grace_seconds=3600)
    assert rotated is not None
    scanned = json.dumps(dynamo.client().scan(TableName=dynamo.table_name())["Items"])
    assert secret not in scanned and rotated not in scanned
    item = _stored(environment, subscription.id)
    assert sealing.is_sealed(item["secret"]) and sealing.is_sealed(item["previous_secret"])


def test_signing_opens_the_secrets_with_kms_once_per_data_key(
    environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = _create(environment)
    secret = subscription.secret
    rotated = store.rotate_secret(environment, subscription.id, grace_seconds=3600)
    sealing.reset()  # another container: the delivery function's
    calls = _kms_calls(monkeypatch)
    found = store.get(environment, subscription.id)
    assert found is not None
    assert (found.secret, found.previous_secret) == (rotated, secret)
    assert calls == ["Decrypt"]  # both sealed under the creating container's data key
    assert store.get(environment, subscription.id) is not None
    assert calls == ["Decrypt"]


def test_a_container_asks_kms_for_one_data_key(
    environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _kms_calls(monkeypatch)
    created = [_create(environment) for _ in range(3)]
    assert [s.secret.startswith("whsec_") for s in created] == [True] * 3
    assert calls == ["GenerateDataKey"]  # and no Decrypt: it made the key


def test_listing_subscriptions_never_decrypts(
    environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _create(environment)
    sealing.reset()
    calls = _kms_calls(monkeypatch)
    assert len(store.list_all(environment)) == 1
    assert calls == []


def test_a_secret_stored_before_encryption_still_signs_and_rotates_sealed(
    environment: str,
) -> None:
    subscription = _create(environment)
    dynamo.client().update_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.webhook_subscription(environment, subscription.id)),
        UpdateExpression="SET secret = :plain",
        ExpressionAttributeValues={":plain": {"S": "whsec_legacyplaintextsecret0000000"}},
    )
    found = store.get(environment, subscription.id)
    assert found is not None and found.secret == "whsec_legacyplaintextsecret0000000"
    rotated = store.rotate_secret(environment, subscription.id, grace_seconds=60)
    item = _stored(environment, subscription.id)
    assert sealing.is_sealed(item["secret"])
    # The old secret moves aside as it was stored; it still signs during the grace period.
    assert item["previous_secret"] == "whsec_legacyplaintextsecret0000000"
    again = store.get(environment, subscription.id)
    assert again is not None
    assert (again.secret, again.previous_secret) == (rotated, "whsec_legacyplaintextsecret0000000")


def test_a_tampered_secret_does_not_open(environment: str) -> None:
    subscription = _create(environment)
    sealed = subscription.stored_secret
    tampered = sealed[:-2] + ("AA" if not sealed.endswith("AA") else "BB")
    with pytest.raises(sealing.SealingError):
        sealing.unseal(tampered, f"{environment}/{subscription.id}")
    with pytest.raises(sealing.SealingError, match="malformed"):
        sealing.unseal(sealing.SEALED_PREFIX + "x", f"{environment}/{subscription.id}")


def test_secrets_stored_in_clear_are_sealed_by_the_cli_keeping_their_value(
    environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra import cli

    subscription = _create(environment)
    legacy = "whsec_legacyplaintextsecret0000000"
    dynamo.client().update_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.webhook_subscription(environment, subscription.id)),
        UpdateExpression="SET secret = :plain, previous_secret = :old",
        ExpressionAttributeValues={":plain": {"S": legacy}, ":old": {"S": legacy + "old"}},
    )
    assert cli.main(["--table", "waymark-unit", "--json", "webhooks", "seal-secrets"]) == 0
    assert json.loads(capsys.readouterr().out) == {"sealed": 1}
    item = _stored(environment, subscription.id)
    assert sealing.is_sealed(item["secret"]) and sealing.is_sealed(item["previous_secret"])
    found = store.get(environment, subscription.id)
    assert found is not None and (found.secret, found.previous_secret) == (legacy, legacy + "old")
    # Again: nothing left in clear.
    assert store.seal_stored_secrets(environment) == 0


def test_a_kept_response_holding_a_secret_is_sealed_and_replays_it(environment: str) -> None:
    """Idempotency-Key keeps responses for replays: those showing a secret (creation,
    rotation) are kept sealed, so the table still holds no secret in clear."""
    from functions.webhook_subscriptions.handler import lambda_handler as handler
    from tests.support import api_event
    from tests.unit.conftest import LambdaContext

    def call(path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        event = api_event(
            "POST", path, environment_id=environment, headers={"Idempotency-Key": key}, body=body
        )
        lambda_handler: Any = handler
        response: dict[str, Any] = lambda_handler(event, LambdaContext())
        assert response["statusCode"] == 200, response["body"]
        return response

    body = {"api_version": "2020-01-03", "topics": ["user"], "url": URL}
    created = call("/webhook_subscriptions", body, "create-1")
    subscription = json.loads(created["body"])
    rotate_path = f"/webhook_subscriptions/{subscription['id']}/rotate_secret"
    rotated = call(rotate_path, {}, "rotate-1")
    secrets = [subscription["secret"], json.loads(rotated["body"])["secret"]]

    scanned = json.dumps(dynamo.client().scan(TableName=dynamo.table_name())["Items"])
    assert not [secret for secret in secrets if secret in scanned]
    sealing.reset()  # another container replays them
    assert call("/webhook_subscriptions", body, "create-1")["body"] == created["body"]
    assert call(rotate_path, {}, "rotate-1")["body"] == rotated["body"]
