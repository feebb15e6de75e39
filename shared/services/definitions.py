"""Definitions recorded as a by-product of writes: the data is already stored, so a failure
here is logged and the request still succeeds (the next write of that name tries again)."""

from __future__ import annotations

from collections.abc import Iterable

from shared.domain.attributes import AttributeChange
from shared.observability import logger
from shared.store import definitions


def record_attributes(environment_id: str, scope: str, changes: Iterable[AttributeChange]) -> None:
    """The definitions of the attributes a user, group or membership write set."""
    types = _types(changes)
    if not types:
        return
    try:
        definitions.record_attributes(environment_id, scope, types)
    except Exception:
        logger.exception("Could not record attribute definitions; the data is stored")


def record_event(environment_id: str, name: str, changes: Iterable[AttributeChange]) -> None:
    """The definitions of a tracked event and of its attributes."""
    record_event_types(environment_id, name, _types(changes))


def record_event_types(environment_id: str, name: str, types: dict[str, str]) -> None:
    """As `record_event`, with the attributes' types given (name -> data type)."""
    try:
        definitions.record_event(environment_id, name)
    except Exception:
        logger.exception("Could not record an event definition; the event is stored")
    if not types:
        return
    try:
        definitions.record_attributes(environment_id, "event", types, event_name=name)
    except Exception:
        logger.exception("Could not record attribute definitions; the data is stored")


def _types(changes: Iterable[AttributeChange]) -> dict[str, str]:
    return {c.name: c.data_type.value for c in changes if c.data_type is not None}
