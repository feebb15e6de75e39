"""Idempotency-Key records (moto): claims, answers, releases and their expiry, with the clock
passed in."""

from __future__ import annotations

import base64
import random

import pytest

from shared.domain.limits import IDEMPOTENCY_RETENTION_SECONDS, MAX_REPLAYED_RESPONSE_BYTES
from shared.store import dynamo, keys, schema, tenancy
from shared.store import idempotency as records

T0 = 1_800_000_000.25  # any moment; every call gets its clock
OK = records.KeptResponse(200, {"Content-Type": "application/json"}, '{"id":"1"}', 10)


def _claim(
    environment: str, key: str = "k", fingerprint: str = "f", *, at: float = T0, lasts: float = 10
) -> records.Claim:
    return records.claim(environment, key, fingerprint, now=at, in_flight_seconds=lasts)


def _token(claim: records.Claim) -> str:
    assert isinstance(claim, records.Claimed), claim
    return claim.token


def _stored(environment: str, key: str) -> dict[str, object]:
    found = dynamo.client().get_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.idempotency_record(environment, records.digest(key))),
        ConsistentRead=True,
    )
    return dynamo.from_item(found["Item"])


def test_a_new_key_is_claimed_and_held_while_its_request_runs(environment: str) -> None:
    _token(_claim(environment))
    held = _claim(environment, fingerprint="other", at=T0 + 5)
    assert held == records.InFlight("f", expires_at=int(T0) + 11)  # rounded up: never early


def test_an_answered_key_gives_its_response_for_24_hours(environment: str) -> None:
    token = _token(_claim(environment))
    assert records.answer(environment, "k", token, OK, now=T0 + 1)

    assert _claim(environment, at=T0 + 2) == records.Answered("f", OK)
    last_second = T0 + 1 + IDEMPOTENCY_RETENTION_SECONDS - 1
    assert _claim(environment, at=last_second) == records.Answered("f", OK)
    assert isinstance(_claim(environment, at=last_second + 1), records.Claimed)


def test_a_crashed_request_frees_its_key_when_its_invocation_would_have_ended(
    environment: str,
) -> None:
    crashed = _token(_claim(environment, at=T0, lasts=29))
    assert isinstance(_claim(environment, at=T0 + 28), records.InFlight)
    retry = _token(_claim(environment, at=T0 + 30))
    # The crashed request cannot come back and overwrite the retry's outcome.
    assert not records.answer(environment, "k", crashed, OK, now=T0 + 31)
    assert not records.release(environment, "k", crashed, now=T0 + 31)
    assert records.answer(environment, "k", retry, OK, now=T0 + 31)


def test_a_released_key_can_be_claimed_again_at_once(environment: str) -> None:
    token = _token(_claim(environment))
    assert records.release(environment, "k", token, now=T0 + 1)
    _token(_claim(environment, fingerprint="another body", at=T0 + 1))


def test_keys_are_scoped_to_the_environment(environment: str) -> None:
    other = tenancy.create_environment("Other").id
    _token(_claim(environment))
    _token(_claim(other))
    assert isinstance(_claim(environment, at=T0 + 1), records.InFlight)


def test_a_response_too_large_to_keep_is_remembered_without_its_body(environment: str) -> None:
    # Random bytes, as base64, compress to about 3/4 of their length: still over the limit.
    body = base64.b64encode(random.Random(19).randbytes(MAX_REPLAYED_RESPONSE_BYTES)).decode()
    huge = records.KeptResponse(200, {}, body, len(body))
    token = _token(_claim(environment))
    assert records.answer(environment, "k", token, huge, now=T0)
    assert _claim(environment, at=T0 + 1) == records.Answered(
        "f", records.KeptResponse(200, {}, None, len(body))
    )


def test_a_large_response_is_kept_compressed(environment: str) -> None:
    body = '{"data":[' + ",".join(['{"id":"u","attributes":{"plan":"pro"}}'] * 20_000) + "]}"
    assert len(body) > 400_000  # more than an item holds, uncompressed
    kept = records.KeptResponse(200, {}, body, len(body))
    assert records.answer(environment, "k", _token(_claim(environment)), kept, now=T0)
    assert _claim(environment, at=T0 + 1) == records.Answered("f", kept)


def test_the_record_is_one_item_of_its_own_expiring_through_the_tables_ttl(
    environment: str,
) -> None:
    key = "x" * 255
    assert records.answer(environment, key, _token(_claim(environment, key)), OK, now=T0)
    item = _stored(environment, key)
    assert item["PK"] == f"E#{environment}#IDEM#{records.digest(key)}"
    assert item["SK"] == "IDEM"
    assert item[schema.TTL_ATTRIBUTE] == int(T0) + IDEMPOTENCY_RETENTION_SECONDS
    assert item["idempotency_key"] == key
    assert not {name for name in item if str(name).startswith("GSI")}  # no index entries
    assert "claim" not in item


def test_claiming_a_held_key_reads_nothing_more(
    environment: str, dynamodb_calls: list[str]
) -> None:
    records.answer(environment, "k", _token(_claim(environment)), OK, now=T0)
    dynamodb_calls.clear()
    assert isinstance(_claim(environment, at=T0 + 1), records.Answered)
    assert dynamodb_calls == ["PutItem"]  # the refused write returns the record


@pytest.mark.parametrize("key", ["", " ", "é" * 200, "\x00", "a" * 10_000])
def test_the_store_keeps_any_key_by_its_digest(environment: str, key: str) -> None:
    assert len(keys.idempotency_record(environment, records.digest(key))["PK"]) < 100
