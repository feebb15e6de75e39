"""Content sessions, their answers, and the lock that keeps one active session per user and
content.

- A session: PK `E#<env>#CS#<id>`, SK `CS` (found by id alone, strongly consistent). GSI1
  lists an environment's sessions by id (ids are time-ordered: creation order), GSI2 by last
  activity, GSI3 one content's by id.
- In the user's partition: `CS#<session id>` (the user's sessions, in creation order: its
  "flow history", which the user's cascade follows to delete the sessions), `CSA#<session
  id>#<question cvid>` (answers) and `CL#<content id>` (the lock, while a session is active).

A session is written with the lock, its history item and its `flow_started` event in one
transaction; every later step with its event (and answer, and the lock's release) in one
transaction conditional on the session's revision `rev`, so a step and its event are never
one without the other, and two steps racing never both apply to the same state.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from functools import partial
from typing import Any

from shared.domain.attributes import UNSUBSCRIBED_ATTRIBUTE
from shared.domain.content import ContentType
from shared.domain.errors import InvalidInput
from shared.domain.limits import EXPAND_PER_OBJECT_BUDGET, FILTER_EXAMINE_BUDGET
from shared.domain.sessions import (
    AnswerType,
    Outcome,
    RecordedAnswer,
    Session,
    Status,
)
from shared.store import attributed, dynamo, keys
from shared.store.bulk import delete_keys, query_all
from shared.store.pages import Page, query_page
from shared.store.parallel import run_all


class UserMissing(Exception):
    pass


class GroupMissing(Exception):
    pass


class UserUnsubscribed(Exception):
    """The user opted out of content (its `content_unsubscribed_at` attribute is set)."""

    def __init__(self, user_id: str, since: Any) -> None:
        super().__init__(user_id)
        self.since = since


class ActiveSessionExists(Exception):
    """The user has an active session of this content (its lock is taken)."""

    def __init__(self, content_id: str, session_id: str | None) -> None:
        super().__init__(content_id)
        self.session_id = session_id  # the lock's session (None: it went meanwhile)


class StaleSession(Exception):
    """The session changed since it was read (another step, or it is gone)."""


class LockNotHeld(Exception):
    """The lock of the session's user and content belongs to another session (the user was
    deleted and made again while the session was active): a step must not release it."""


class ProgressRefused(Exception):
    def __init__(self, session: Session | None) -> None:
        super().__init__("progress refused")
        self.session = session


# --- items -------------------------------------------------------------------------------------


def _session_item(environment_id: str, session: Session) -> dict[str, Any]:
    item: dict[str, Any] = {
        **keys.content_session(environment_id, session.id),
        "GSI1PK": keys.sessions_listing(environment_id),
        "GSI1SK": session.id,
        "GSI3PK": keys.content_sessions_listing(environment_id, session.content_id),
        "GSI3SK": session.id,
        "id": session.id,
        "content_id": session.content_id,
        "content_type": session.content_type.value,
        "version_id": session.version_id,
        "user_id": session.user_id,
        "group_id": session.group_id,
        "is_preview": session.is_preview,
        "created_at": session.created_at,
        **_mutable(environment_id, session),
    }
    return {k: v for k, v in item.items() if v is not None}


def _mutable(environment_id: str, session: Session) -> dict[str, Any]:
    """What steps change (None: absent)."""
    return {
        "status": session.status.value,
        "progress": session.progress,
        "launcher_activated": session.launcher_activated,
        "completed_tasks": list(session.completed_tasks),
        "last_activity_at": session.last_activity_at,
        "completed_at": session.completed_at,
        "ended_at": session.ended_at,
        "GSI2PK": keys.sessions_by_activity_listing(environment_id),
        "GSI2SK": keys.activity_order(session.last_activity_at, session.id),
        "rev": session.rev,
    }


def _session(item: dict[str, Any]) -> Session:
    return Session(
        id=item["id"],
        content_id=item["content_id"],
        content_type=ContentType(item["content_type"]),
        version_id=item["version_id"],
        user_id=item["user_id"],
        group_id=item.get("group_id"),
        is_preview=bool(item["is_preview"]),
        created_at=item["created_at"],
        status=Status(item["status"]),
        progress=_decimal(item["progress"]),
        launcher_activated=bool(item["launcher_activated"]),
        completed_tasks=tuple(item.get("completed_tasks", [])),
        last_activity_at=item["last_activity_at"],
        completed_at=item.get("completed_at"),
        ended_at=item.get("ended_at"),
        rev=int(item["rev"]),
    )


def _decimal(value: int | float) -> Decimal:
    """A stored number back as the Decimal it was (items come back as int or float)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _answer_item(environment_id: str, user_id: str, answer: RecordedAnswer) -> dict[str, Any]:
    return {
        **keys.session_answer(environment_id, user_id, answer.session_id, answer.question_cvid),
        "id": answer.id,
        "session_id": answer.session_id,
        "question_cvid": answer.question_cvid,
        "question_name": answer.question_name,
        "answer_type": answer.type.value,
        "answer_value": list(answer.value) if isinstance(answer.value, tuple) else answer.value,
        "created_at": answer.created_at,
    }


def _answer(item: dict[str, Any]) -> RecordedAnswer:
    value = item["answer_value"]
    return RecordedAnswer(
        id=item["id"],
        session_id=item["session_id"],
        question_cvid=item["question_cvid"],
        question_name=item["question_name"],
        type=AnswerType(item["answer_type"]),
        value=tuple(value) if isinstance(value, list) else value,
        created_at=item["created_at"],
    )


def _lock_release(environment_id: str, session: Session) -> dict[str, Any]:
    """Delete the lock if it is this session's (or gone already)."""
    return dynamo.delete_request(
        keys.session_lock(environment_id, session.user_id, session.content_id),
        "attribute_not_exists(PK) OR #session_id = :session",
        session=session.id,
    )


# --- writes ------------------------------------------------------------------------------------


def start(
    environment_id: str,
    session: Session,
    events: list[dict[str, Any]],
    *,
    stale_lock: str | None = None,
) -> None:
    """Write a new session: the user (and group) must exist, the user must not have opted out
    of content, and must have no active session of this content; with it, its lock, its
    history item and `events`. A lock that names `stale_lock` (a session found gone or
    finished) is taken over."""
    user_key = keys.user(environment_id, session.user_id)
    items = [
        dynamo.check_request(
            user_key,
            "attribute_exists(PK) AND attribute_not_exists(#unsubscribed)",
            names={"#unsubscribed": attributed.ATTRIBUTE_PREFIX + UNSUBSCRIBED_ATTRIBUTE},
        )
    ]
    if session.group_id is not None:
        group_key = keys.group(environment_id, session.group_id)
        items.append(dynamo.check_request(group_key, "attribute_exists(PK)"))
    lock = len(items)
    items += [
        dynamo.put_request(
            {
                **keys.session_lock(environment_id, session.user_id, session.content_id),
                "session_id": session.id,
                "created_at": session.created_at,
            },
            "attribute_not_exists(PK)"
            if stale_lock is None
            else "attribute_not_exists(PK) OR #session_id = :stale",
            **({} if stale_lock is None else {"stale": stale_lock}),
        ),
        dynamo.put_request(
            {
                **keys.user_session(environment_id, session.user_id, session.id),
                "session_id": session.id,
                "content_id": session.content_id,
                "created_at": session.created_at,
            }
        ),
        dynamo.put_request(_session_item(environment_id, session), "attribute_not_exists(PK)"),
        *(dynamo.put_request(event) for event in events),
    ]
    try:
        dynamo.transact_write(items)
    except dynamo.TransactionCancelled as cancelled:
        if cancelled.failed(0):
            user = attributed.get_item(user_key, consistent=True)
            if user is None:
                raise UserMissing(session.user_id) from None
            since = attributed.attributes_of(user).get(UNSUBSCRIBED_ATTRIBUTE)
            raise UserUnsubscribed(session.user_id, since) from None
        if session.group_id is not None and cancelled.failed(1):
            raise GroupMissing(session.group_id) from None
        if cancelled.failed(lock):
            holder = active_session_id(environment_id, session.user_id, session.content_id)
            raise ActiveSessionExists(session.content_id, holder) from None
        raise StaleSession(session.id) from None


def active_session_id(environment_id: str, user_id: str, content_id: str) -> str | None:
    """The user's active session of the content, as its lock says (strongly consistent)."""
    lock = attributed.get_item(
        keys.session_lock(environment_id, user_id, content_id), consistent=True
    )
    return str(lock["session_id"]) if lock else None


def record_progress(environment_id: str, session_id: str, progress: Decimal, now: str) -> Session:
    """Raise an active session's progress in one conditional write (no read first); a session
    that is missing, not active or further along raises ProgressRefused with the session as
    the refusal found it (DynamoDB returns it with the refusal: no second call)."""
    from botocore.exceptions import ClientError

    key = keys.content_session(environment_id, session_id)
    try:
        result = dynamo.client().update_item(
            TableName=dynamo.table_name(),
            Key=dynamo.to_item(key),
            UpdateExpression=(
                "SET progress = :progress, last_activity_at = :now, GSI2SK = :order ADD #rev :one"
            ),
            ConditionExpression=(
                "attribute_exists(PK) AND #status = :active AND progress <= :progress"
            ),
            ExpressionAttributeNames={"#rev": "rev", "#status": "status"},
            ExpressionAttributeValues=dynamo.to_item(
                {
                    ":progress": progress,
                    ":now": now,
                    ":order": keys.activity_order(now, session_id),
                    ":one": 1,
                    ":active": Status.ACTIVE.value,
                }
            ),
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if not dynamo.is_conditional_failure(error):
            raise
        old = error.response.get("Item")  # the session as it is, or absent: no such session
        raise ProgressRefused(_session(dynamo.from_item(old)) if old else None) from None
    return _session(dynamo.from_item(result["Attributes"]))


def apply_step(
    environment_id: str,
    before: Session,
    outcome: Outcome,
    events: list[dict[str, Any]],
    *,
    release_lock: bool = True,
) -> Session:
    """Write a step's outcome, if the session is still as read: the session, the answer it
    records, the lock it releases and its events, together. Returns the session as written."""
    after = replace(outcome.session, rev=before.rev + 1)
    items = [
        dynamo.update_request(
            keys.content_session(environment_id, before.id),
            _mutable(environment_id, after),
            "#rev = :expected",
            expected=before.rev,
        )
    ]
    if outcome.answer is not None:
        items.append(
            dynamo.put_request(_answer_item(environment_id, before.user_id, outcome.answer))
        )
    lock = None
    if outcome.releases_lock and release_lock:
        lock = len(items)
        items.append(_lock_release(environment_id, before))
    items += [dynamo.put_request(event) for event in events]
    try:
        dynamo.transact_write(items)
    except dynamo.TransactionCancelled as cancelled:
        if lock is not None and cancelled.failed(lock) and not cancelled.failed(0):
            raise LockNotHeld(before.id) from None
        raise StaleSession(before.id) from None
    return after


def delete(environment_id: str, session: Session, *, release_lock: bool = True) -> None:
    """Delete a session: its answers, then the session, its history item and (if it is
    active) its lock together. Retried after a failure part-way, it finishes the job."""
    answers = query_all(
        partition=keys.user(environment_id, session.user_id)["PK"],
        sort_prefix=keys.session_answers_prefix(session.id),
    )
    delete_keys([{"PK": a["PK"], "SK": a["SK"]} for a in answers])
    items = [
        dynamo.delete_request(keys.content_session(environment_id, session.id)),
        dynamo.delete_request(keys.user_session(environment_id, session.user_id, session.id)),
    ]
    lock = None
    if session.status is Status.ACTIVE and release_lock:
        lock = len(items)
        items.append(_lock_release(environment_id, session))
    try:
        dynamo.transact_write(items)
    except dynamo.TransactionCancelled as cancelled:
        if lock is not None and cancelled.failed(lock):
            raise LockNotHeld(session.id) from None
        raise StaleSession(session.id) from None


def release_locks(environment_id: str, user_id: str) -> None:
    """Remove a deleted user's locks at once, so the same id made again can start sessions
    before the cascade deletes the old ones."""
    locks = query_all(
        partition=keys.user(environment_id, user_id)["PK"],
        sort_prefix=keys.SESSION_LOCK_PREFIX,
    )
    delete_keys([{"PK": lock["PK"], "SK": lock["SK"]} for lock in locks])


# --- reads -------------------------------------------------------------------------------------


def get(environment_id: str, session_id: str, *, consistent: bool = False) -> Session | None:
    item = attributed.get_item(
        keys.content_session(environment_id, session_id), consistent=consistent
    )
    return _session(item) if item else None


def get_many(environment_id: str, session_ids: list[str]) -> dict[str, Session]:
    items = attributed.get_items(keys.content_session(environment_id, s) for s in session_ids)
    return {item["id"]: _session(item) for item in items}


def answers_of(environment_id: str, sessions: list[Session]) -> dict[str, list[RecordedAnswer]]:
    """Each session's answers, oldest first: one Query per session, side by side."""

    def read(session: Session) -> list[RecordedAnswer]:
        items = query_all(
            partition=keys.user(environment_id, session.user_id)["PK"],
            sort_prefix=keys.session_answers_prefix(session.id),
            bound=EXPAND_PER_OBJECT_BUDGET,
        )
        return sorted((_answer(i) for i in items), key=lambda a: (a.created_at, a.id))

    unique = list({s.id: s for s in sessions}.values())
    found = run_all([partial(read, s) for s in unique])
    return dict(zip((s.id for s in unique), found, strict=True))


def list_created(
    environment_id: str,
    *,
    content_id: str | None,
    limit: int,
    descending: bool,
    starting_after: str | None,
) -> Page[Session]:
    """By creation: an environment's sessions (GSI1), or one content's (GSI3)."""
    index, partition = (
        ("GSI1", keys.sessions_listing(environment_id))
        if content_id is None
        else ("GSI3", keys.content_sessions_listing(environment_id, content_id))
    )
    page = query_page(
        index=index,
        partition=partition,
        limit=limit,
        descending=descending,
        start_key=None,
        sort_beyond=starting_after,
    )
    return Page(items=[_session(i) for i in page.items], has_more=page.has_more)


def list_of_user(
    environment_id: str,
    user_id: str,
    *,
    content_id: str | None,
    limit: int,
    descending: bool,
    starting_after: str | None,
) -> Page[Session]:
    """A user's sessions by creation (its history items, then the sessions in one batch);
    `content_id` is a filter, within the read budget."""
    partition = keys.user(environment_id, user_id)["PK"]
    start = None
    if starting_after is not None:
        start = keys.user_session(environment_id, user_id, starting_after)
    page = query_page(
        index=None,
        partition=partition,
        partition_attribute="PK",
        sort_prefix=keys.USER_SESSION_PREFIX,
        limit=limit,
        descending=descending,
        start_key=start,
        filter_expression="content_id = :content" if content_id is not None else None,
        filter_values={":content": content_id},
        examine_budget=FILTER_EXAMINE_BUDGET,
        cursor_of=lambda key: keys.session_id_of_user_session(key["SK"]) or "",
    )
    ids = [str(item["session_id"]) for item in page.items]
    found = get_many(environment_id, ids)
    return Page(
        items=[found[i] for i in ids if i in found],
        has_more=page.has_more,
        resume_after=page.resume_after,
    )


def list_by_activity(
    environment_id: str,
    *,
    user_id: str | None,
    content_id: str | None,
    limit: int,
    descending: bool,
    starting_after: str | None,
) -> Page[Session]:
    """By last activity (GSI2); `user_id` and `content_id` are filters within the read
    budget. A page resumes after the anchor session's last activity as it is now."""
    beyond = None
    if starting_after is not None:
        anchor = get(environment_id, starting_after)
        if anchor is None:
            raise InvalidInput(f"Invalid `starting_after`: no content session {starting_after!r}.")
        beyond = keys.activity_order(anchor.last_activity_at, anchor.id)
    filters = {"user_id": user_id, "content_id": content_id}
    given = {name: value for name, value in filters.items() if value is not None}
    page = query_page(
        index="GSI2",
        partition=keys.sessions_by_activity_listing(environment_id),
        limit=limit,
        descending=descending,
        start_key=None,
        sort_beyond=beyond,
        filter_expression=" AND ".join(f"{name} = :{name}" for name in given) or None,
        filter_values={f":{name}": value for name, value in given.items()},
        examine_budget=FILTER_EXAMINE_BUDGET,
        cursor_of=lambda key: keys.session_id_of_activity_order(key["GSI2SK"]),
    )
    return Page(
        items=[_session(i) for i in page.items],
        has_more=page.has_more,
        resume_after=page.resume_after,
    )
