"""Webhook topics, as the reference's "Webhook topics" table lists them."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.errors import InvalidInput
from shared.webhooks.topics import matches, validate_topics


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["*"], ["*"]),
        (["user", "event"], ["user", "event"]),
        (
            ["user.created", "user.updated", "group", "group.created", "group.updated"],
            ["user.created", "user.updated", "group", "group.created", "group.updated"],
        ),
        (["event.tracked"], ["event.tracked"]),
        (["event.tracked.flow_started"], ["event.tracked.flow_started"]),
        (["event.tracked.Signed Up-2"], ["event.tracked.Signed Up-2"]),
        (["user", "event", "user", "*", "event"], ["user", "event", "*"]),
    ],
)
def test_valid_topics_are_kept_in_order_without_duplicates(
    raw: list[str], expected: list[str]
) -> None:
    assert validate_topics(raw) == expected


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (None, "`topics`"),
        ("user", "`topics`"),
        ([], "`topics`"),
        ({"user": True}, "`topics`"),
        (["user", 1], "`topics[1]`"),
        (["user", None], "`topics[1]`"),
        (["users"], "`topics[0]`"),
        (["use"], "`topics[0]`"),
        (["user.deleted"], "`topics[0]`"),
        (["User"], "`topics[0]`"),
        (["", "user"], "`topics[0]`"),
        (["user", "user.*"], "`topics[1]`"),
        (["event.tracked."], "`topics[0]`"),
        (["event.tracked.a.b"], "`topics[0]`"),
        (["event.tracked.bad!name"], "`topics[0]`"),
        (["event.tracked." + "x" * 256], "`topics[0]`"),
        (["event.", "user"], "`topics[0]`"),
        (["*", " user"], "`topics[1]`"),
        (["user"] * 101, "`topics`"),
    ],
)
def test_invalid_topics_name_the_offending_entry(raw: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        validate_topics(raw)
    assert str(error.value).startswith(f"Invalid {field}: ")


def test_the_path_is_part_of_the_message() -> None:
    with pytest.raises(InvalidInput, match=r"^Invalid `body\.topics\[0\]`: "):
        validate_topics(["nope"], path="body.topics")


@pytest.mark.parametrize(
    ("subscribed", "topic", "expected"),
    [
        (["*"], "user.created", True),
        (["*"], "event.tracked.signed_up", True),
        (["user"], "user.created", True),
        (["user"], "user.updated", True),
        (["user"], "group.created", False),
        (["user.created"], "user.created", True),
        (["user.created"], "user.updated", False),
        (["use"], "user.created", False),
        (["user.create"], "user.created", False),
        (["group"], "group.updated", True),
        (["event"], "event.tracked.signed_up", True),
        (["event.tracked"], "event.tracked.signed_up", True),
        (["event.tracked.signed_up"], "event.tracked.signed_up", True),
        (["event.tracked.signed"], "event.tracked.signed_up", False),
        (["event.tracked.signed_up"], "event.tracked.signed_up_twice", False),
        (["event.tracked.Signed_Up"], "event.tracked.signed_up", False),
        (["user.created", "event"], "event.tracked.x", True),
        ([], "user.created", False),
    ],
)
def test_topics_match_themselves_and_what_they_prefix(
    subscribed: list[str], topic: str, expected: bool
) -> None:
    assert matches(subscribed, topic) is expected


def test_matches_accepts_any_iterable() -> None:
    assert matches(iter(("group", "user")), "user.updated")
    assert matches(("group", "user"), "user.updated")
