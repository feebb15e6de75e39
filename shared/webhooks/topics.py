"""Webhook topics (the reference's "Webhook topics"): validation and namespaced matching."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.domain.attributes import validate_name
from shared.domain.errors import InvalidInput

ALL = "*"
EVENT_TRACKED_PREFIX = "event.tracked."
TOPICS = (
    ALL,
    "event",
    "event.tracked",
    "group",
    "group.created",
    "group.updated",
    "user",
    "user.created",
    "user.updated",
)
MAX_TOPICS = 100


def validate_topics(raw: Any, path: str = "topics") -> list[str]:
    """A subscription's topics, deduplicated in the order given."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(f"Invalid `{path}`: must be a non-empty array of topics.")
    if len(raw) > MAX_TOPICS:
        raise InvalidInput(f"Invalid `{path}`: at most {MAX_TOPICS} topics.")
    topics: list[str] = []
    for index, topic in enumerate(raw):
        _validate_topic(topic, f"{path}[{index}]")
        if topic not in topics:
            topics.append(topic)
    return topics


def _validate_topic(topic: Any, path: str) -> None:
    if not isinstance(topic, str):
        raise InvalidInput(f"Invalid `{path}`: must be a string.")
    if topic in TOPICS:
        return
    if topic.startswith(EVENT_TRACKED_PREFIX):
        try:
            validate_name(topic[len(EVENT_TRACKED_PREFIX) :], "event")
        except InvalidInput as error:
            raise InvalidInput(f"Invalid `{path}`: {error}") from None
        return
    raise InvalidInput(
        f"Invalid `{path}`: unknown topic {topic[:80]!r}; use one of {', '.join(TOPICS)} "
        f"or {EVENT_TRACKED_PREFIX}<event name>."
    )


def matches(subscribed: Iterable[str], topic: str) -> bool:
    """Topics are namespaced by dots: `user` matches `user.created`, `*` matches everything."""
    return any(s == ALL or topic == s or topic.startswith(s + ".") for s in subscribed)
