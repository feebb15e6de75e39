"""Tracking events: validate the event, store it, then record its definitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from shared.clock import format_timestamp
from shared.domain.attributes import Operation, parse_changes, parse_datetime
from shared.domain.attributes import validate_name as validate_attribute_name
from shared.domain.errors import InvalidInput
from shared.services import definitions
from shared.store import events
from shared.store.events import Event

if TYPE_CHECKING:
    # Annotations only: the body model (pydantic) loads where the route parses it.
    from shared.http.models import TrackEventBody


def track_event(environment_id: str, body: TrackEventBody) -> Event:
    validate_attribute_name(body.name, "event")
    changes = parse_changes(body.attributes)
    for change in changes:
        if change.operation not in (Operation.SET, Operation.UNSET):
            raise InvalidInput(
                f"Invalid `attributes.{change.name}`: event attributes take values "
                f"(or `set` with a `data_type`), not `{change.operation.value}`."
            )
    values = {c.name: c.value for c in changes if c.operation is Operation.SET}
    event = events.track(
        environment_id,
        name=body.name,
        user_id=body.user_id,
        group_id=body.group_id,
        attributes=values,
        time=_event_time(body.time),
    )
    definitions.record_event(environment_id, body.name, changes)
    return event


def _event_time(text: str | None) -> str | None:
    if text is None:
        return None
    moment = parse_datetime(text)
    if moment is None:
        raise InvalidInput(f"Invalid `time` {text[:60]!r}: must be an ISO 8601 date time.")
    if moment > datetime.now(UTC) + timedelta(days=366):
        raise InvalidInput("Invalid `time`: more than a year in the future.")
    return format_timestamp(moment)
