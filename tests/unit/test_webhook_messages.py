"""The delivery queue's message and delivery ids."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest

from shared.webhooks.messages import DeliveryMessage, delivery_id_for

MESSAGE = DeliveryMessage(
    environment_id="env_1",
    subscription_id="c8783643-7f16-4a02-b736-4f5a327f8231",
    delivery_id=delivery_id_for("n1", "c8783643-7f16-4a02-b736-4f5a327f8231"),
    notification_id="n1",
    topic="user.created",
    body='{"id":"n1","object":"webhook_notification","data":{"name":"Zoë"}}',
    created_at="2022-11-29T12:34:56.000+00:00",
    window_started_at=1_700_000_000.25,
)


def test_round_trip() -> None:
    assert DeliveryMessage.from_json(MESSAGE.to_json()) == MESSAGE


def test_json_is_a_flat_object_without_the_absent_body_key() -> None:
    fields = dataclasses.asdict(MESSAGE)
    assert fields.pop("body_key") is None
    assert json.loads(MESSAGE.to_json()) == fields


def test_a_large_body_travels_as_its_key() -> None:
    stored = dataclasses.replace(MESSAGE, body=None, body_key="notifications/env_1/n1/v.json")
    assert "body" not in json.loads(stored.to_json())
    assert DeliveryMessage.from_json(stored.to_json()) == stored
    assert stored.size() == len(stored.to_json().encode())


@pytest.mark.parametrize(
    ("body", "body_key"), [(None, None), ("{}", "notifications/env_1/n1/v.json")]
)
def test_a_message_has_a_body_or_its_key_but_not_both(
    body: str | None, body_key: str | None
) -> None:
    with pytest.raises(ValueError, match="exactly one of"):
        dataclasses.replace(MESSAGE, body=body, body_key=body_key)


def test_integer_window_start_is_read_as_float() -> None:
    raw = {**dataclasses.asdict(MESSAGE), "window_started_at": 1_700_000_000}
    message = DeliveryMessage.from_json(json.dumps(raw))
    assert message.window_started_at == 1_700_000_000.0
    assert type(message.window_started_at) is float


def test_unknown_keys_are_ignored() -> None:
    raw = {**dataclasses.asdict(MESSAGE), "added_later": 1}
    assert DeliveryMessage.from_json(json.dumps(raw)) == MESSAGE


def test_messages_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MESSAGE.topic = "user.updated"  # type: ignore[misc]


def _without(key: str) -> dict[str, Any]:
    raw = dataclasses.asdict(MESSAGE)
    del raw[key]
    return raw


def _with(key: str, value: Any) -> dict[str, Any]:
    return {**dataclasses.asdict(MESSAGE), key: value}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "null",
        "[]",
        '"text"',
        json.dumps(_without("delivery_id")),
        json.dumps(_without("body")),
        json.dumps(_without("window_started_at")),
        json.dumps(_with("environment_id", "")),
        json.dumps(_with("subscription_id", 5)),
        json.dumps(_with("body", None)),
        json.dumps(_with("body", "")),
        json.dumps(_with("body_key", "")),
        json.dumps({**_without("body"), "body_key": 7}),
        json.dumps(_with("window_started_at", "1700000000")),
        json.dumps(_with("window_started_at", True)),
        json.dumps(_with("window_started_at", None)),
        json.dumps(_with("window_started_at", float("inf"))),
    ],
)
def test_malformed_messages_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):
        DeliveryMessage.from_json(text)


def test_non_string_input_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        DeliveryMessage.from_json(None)  # type: ignore[arg-type]


def test_delivery_ids_are_deterministic_uuids() -> None:
    first = delivery_id_for("n1", "s1")
    assert first == delivery_id_for("n1", "s1")
    assert uuid.UUID(first).version == 5
    assert len({first, delivery_id_for("n1", "s2"), delivery_id_for("n2", "s1")}) == 3
