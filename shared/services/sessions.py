"""Content sessions: starting one, recording its steps (an extension), deleting and listing.

A step reads the session (strongly consistent) and its version (published versions are kept
in memory), applies the pure rules of `shared.domain.sessions`, and writes the outcome with its
built-in events in one transaction conditional on the session's revision. A step that lost a
race reads again (a few times, then a 409 the client may retry). Progress needs no read: it is
one conditional write, and a refusal says why from the session DynamoDB returns with it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from shared.clock import now_iso
from shared.domain import sessions as rules
from shared.domain.attributes import UNSUBSCRIBED_ATTRIBUTE
from shared.domain.content import Content, ContentType, Task, Version
from shared.domain.errors import Conflict, InvalidInput, Unknown
from shared.domain.sessions import BuiltInEvent, Outcome, Session
from shared.http.listing import ListQuery
from shared.ids import new_id, sortable_id
from shared.services import definitions
from shared.services.content import get as get_content
from shared.store import content as content_store
from shared.store import events as events_store
from shared.store import sessions as store
from shared.store.pages import Page

if TYPE_CHECKING:
    # Annotations only: the body models (pydantic) load where a route parses one.
    from shared.http.models import AnswerBody, StartSessionBody

MAX_ATTEMPTS = 5
CHECKLIST = ContentType.CHECKLIST

Decide = Callable[[Session, Callable[[], Version]], Outcome]


def start(environment_id: str, body: StartSessionBody) -> Session:
    """A new active session, or the user's active session of this content when it runs the
    same version for the same group (a retry, or a start racing another)."""
    stale_lock = None
    for _ in range(MAX_ATTEMPTS):
        content = get_content(environment_id, body.content_id, consistent=True)
        version_id = _version_to_run(content, body.is_preview)
        now = now_iso()
        session = Session(
            id=sortable_id(),
            content_id=content.id,
            content_type=content.type,
            version_id=version_id,
            user_id=body.user_id,
            group_id=body.group_id,
            is_preview=body.is_preview,
            created_at=now,
            last_activity_at=now,
        )
        event = rules.started(session)
        items = [_event_item(environment_id, session, event)]
        try:
            store.start(environment_id, session, items, stale_lock=stale_lock)
        except store.UserMissing:
            raise Unknown(f"No user with id {body.user_id!r}.") from None
        except store.UserUnsubscribed as unsubscribed:
            raise InvalidInput(
                f"Invalid `user_id`: user {body.user_id!r} unsubscribed from content "
                f"({UNSUBSCRIBED_ATTRIBUTE}: {unsubscribed.since!r}) and starts no content "
                f"sessions; POST /users/{body.user_id}/resubscribe first."
            ) from None
        except store.GroupMissing:
            raise Unknown(f"No group with id {body.group_id!r}.") from None
        except store.ActiveSessionExists as taken:
            if taken.session_id is None:
                continue  # it ended meanwhile: start again
            active = store.get(environment_id, taken.session_id, consistent=True)
            if active is None or active.status is not rules.Status.ACTIVE:
                stale_lock = taken.session_id  # a lock left behind: take it over
                continue
            if (active.version_id, active.group_id, active.is_preview) != (
                version_id,
                body.group_id,
                body.is_preview,
            ):
                raise InvalidInput(
                    f"Invalid request: user {body.user_id!r} has an active session "
                    f"{active.id!r} of this content (on version {active.version_id!r}, group "
                    f"{active.group_id!r}); end it first (POST /content_sessions/{active.id}/end)."
                ) from None
            return active
        except store.StaleSession:
            continue
        _record_definitions(environment_id, (event,))
        return session
    raise Conflict("content session")


def _version_to_run(content: Content, is_preview: bool) -> str:
    if content.archived_at is not None:
        raise InvalidInput(f"Invalid `content_id`: content {content.id!r} is archived.")
    if is_preview:
        return content.draft_version_id
    if content.published_version_id is None:
        raise InvalidInput(
            f"Invalid `content_id`: content {content.id!r} has no published version; publish "
            "it, or start a preview of its draft with `is_preview: true`."
        )
    return content.published_version_id


def get(environment_id: str, session_id: str, *, consistent: bool = False) -> Session:
    found = store.get(environment_id, session_id, consistent=consistent)
    if found is None:
        raise Unknown(f"No content session with id {session_id!r}.")
    return found


def record_progress(environment_id: str, session_id: str, value: Any) -> Session:
    progress = rules.parse_progress(value)
    for _ in range(MAX_ATTEMPTS):
        try:
            return store.record_progress(environment_id, session_id, progress, now_iso())
        except store.ProgressRefused as refused:
            if refused.session is None:
                raise Unknown(f"No content session with id {session_id!r}.") from None
            rules.record_progress(refused.session, progress, now_iso())  # says why (a 400)
    raise Conflict("content session")


def answer(environment_id: str, session_id: str, body: AnswerBody) -> Session:
    def decide(session: Session, version: Callable[[], Version]) -> Outcome:
        ran = version()
        question = next((q for q in ran.questions if q.cvid == body.question_cvid), None)
        if question is None:
            raise Unknown(
                f"Version {ran.number} of content {session.content_id!r} has no question with "
                f"cvid {body.question_cvid!r}."
            )
        parsed = rules.parse_answer(question, body.answer_value)
        return rules.record_answer(session, parsed, new_id(), now_iso())

    return _step(environment_id, session_id, decide)


def complete_task(environment_id: str, session_id: str, task_cvid: str) -> Session:
    def decide(session: Session, version: Callable[[], Version]) -> Outcome:
        ran = version()
        task = next((t for t in ran.tasks if t.cvid == task_cvid), None)
        if task is None:
            raise Unknown(
                f"Version {ran.number} of content {session.content_id!r} has no checklist task "
                f"with cvid {task_cvid!r}."
            )
        return rules.complete_task(session, ran.tasks, task, now_iso())

    return _step(environment_id, session_id, decide)


def activate_launcher(environment_id: str, session_id: str) -> Session:
    return _step(environment_id, session_id, lambda s, _: rules.activate_launcher(s, now_iso()))


def complete(environment_id: str, session_id: str) -> Session:
    def decide(session: Session, version: Callable[[], Version]) -> Outcome:
        # Only an active checklist needs its version: its tasks must all be done.
        checking = session.status is rules.Status.ACTIVE and session.content_type is CHECKLIST
        tasks: tuple[Task, ...] = version().tasks if checking else ()
        return rules.complete(session, tasks, now_iso())

    return _step(environment_id, session_id, decide)


def end(environment_id: str, session_id: str) -> Session:
    return _step(environment_id, session_id, lambda s, _: rules.end(s, now_iso()))


def _step(environment_id: str, session_id: str, decide: Decide) -> Session:
    release_lock = True
    for _ in range(MAX_ATTEMPTS):
        session = get(environment_id, session_id, consistent=True)
        outcome = decide(session, partial(_version_of, environment_id, session))
        if not outcome.changed:
            return session
        events = [_event_item(environment_id, session, e) for e in outcome.events]
        try:
            after = store.apply_step(
                environment_id, session, outcome, events, release_lock=release_lock
            )
        except store.LockNotHeld:
            release_lock = False  # the lock is a newer session's: leave it
            continue
        except store.StaleSession:
            continue
        _record_definitions(environment_id, outcome.events)
        return after
    raise Conflict("content session")


def _version_of(environment_id: str, session: Session) -> Version:
    version = content_store.get_version(environment_id, session.version_id, consistent=True)
    if version is None:  # pragma: no cover - versions are never deleted
        raise Unknown(f"No content version with id {session.version_id!r}.")
    return version


def _event_item(environment_id: str, session: Session, event: BuiltInEvent) -> dict[str, Any]:
    """The event as POST /events stores it (same item, same size limit)."""
    return events_store.new_event(
        environment_id,
        name=event.name,
        user_id=session.user_id,
        group_id=session.group_id,
        attributes=event.attributes,
        time=None,
    )[1]


def _record_definitions(environment_id: str, events: tuple[BuiltInEvent, ...]) -> None:
    for event in events:
        definitions.record_event_types(environment_id, event.name, event.types)


def delete(environment_id: str, session_id: str) -> None:
    """Idempotent: a session that is not there is deleted already."""
    release_lock = True
    for _ in range(MAX_ATTEMPTS):
        session = store.get(environment_id, session_id, consistent=True)
        if session is None:
            return
        try:
            store.delete(environment_id, session, release_lock=release_lock)
            return
        except store.LockNotHeld:
            release_lock = False
        except store.StaleSession:
            continue
    raise Conflict("content session")


def list_sessions(environment_id: str, query: ListQuery) -> Page[Session]:
    """By creation: an index Query (GSI1, or one content's GSI3), or a user's history items
    and one BatchGetItem. By last activity: GSI2, filters within the read budget."""
    first, rest = query.order_by[0], query.order_by[1:]
    user_id, content_id = query.filters.get("user_id"), query.filters.get("content_id")
    if first.field == "last_activity_at":
        if any(o.field != "created_at" or o.descending != first.descending for o in rest):
            raise InvalidInput(
                "Invalid `order_by`: sessions with the same last_activity_at are ordered by "
                "created_at in the same direction; no other second field is possible."
            )
        return store.list_by_activity(
            environment_id,
            user_id=user_id,
            content_id=content_id,
            limit=query.limit,
            descending=first.descending,
            starting_after=query.starting_after,
        )
    # created_at is unique (session ids are time-ordered): any further field changes nothing.
    if user_id is not None:
        return store.list_of_user(
            environment_id,
            user_id,
            content_id=content_id,
            limit=query.limit,
            descending=first.descending,
            starting_after=query.starting_after,
        )
    return store.list_created(
        environment_id,
        content_id=content_id,
        limit=query.limit,
        descending=first.descending,
        starting_after=query.starting_after,
    )
