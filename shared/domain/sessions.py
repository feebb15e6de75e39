"""Content sessions as pure rules: what each step does to a session, and which built-in
event it tracks.

A session is `active` until it is completed or ended, and takes steps only while active:
progress (from 0 to 1, never decreasing), answers (one per question `cvid`, the last one
kept, validated against the question), completed checklist tasks, launcher activation,
completion and ending. Completing or ending it again is a no-op, so a client may retry.
A checklist completes when its last task does, and only then.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from shared.domain import limits
from shared.domain.content import ContentType, Question, QuestionType, Task
from shared.domain.errors import InvalidInput
from shared.domain.limits import MAX_ANSWER_BYTES

PROGRESS_STEP = Decimal("0.0001")  # progress is kept to 4 decimal places, rounded down
NO_PROGRESS = Decimal(0)
FULL_PROGRESS = Decimal(1)


class Status(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ENDED = "ended"


class AnswerType(enum.StrEnum):
    NUMBER = "number"
    TEXT = "text"
    LIST = "list"


# The built-in events and the Userflow-internal data types of the attributes they carry.
FLOW_STARTED = "flow_started"
FLOW_COMPLETED = "flow_completed"
FLOW_ENDED = "flow_ended"
CHECKLIST_TASK_COMPLETED = "checklist_task_completed"
QUESTION_ANSWERED = "question_answered"
LAUNCHER_ACTIVATED = "launcher_activated"
BUILT_IN_EVENTS = (
    FLOW_STARTED,
    FLOW_COMPLETED,
    FLOW_ENDED,
    CHECKLIST_TASK_COMPLETED,
    QUESTION_ANSWERED,
    LAUNCHER_ACTIVATED,
)
SESSION_ATTRIBUTE_TYPES = {
    "content_id": "content",
    "content_version_id": "content_version",
    "content_session_id": "content_session",
    "content_type": "string",
}


@dataclass(frozen=True)
class Session:
    id: str
    content_id: str
    content_type: ContentType
    version_id: str
    user_id: str
    group_id: str | None
    is_preview: bool
    created_at: str
    status: Status = Status.ACTIVE
    progress: Decimal = NO_PROGRESS
    launcher_activated: bool = False
    completed_tasks: tuple[str, ...] = ()
    last_activity_at: str = ""
    completed_at: str | None = None
    ended_at: str | None = None
    rev: int = 0  # bumped by every write: steps that read first write only if it has not moved

    @property
    def completed(self) -> bool:
        return self.status is Status.COMPLETED

    @property
    def duration(self) -> int | None:
        """Whole seconds from start to completion or end; None while active."""
        if self.ended_at is None:
            return None
        started = datetime.fromisoformat(self.created_at)
        return int((datetime.fromisoformat(self.ended_at) - started).total_seconds())


@dataclass(frozen=True)
class BuiltInEvent:
    name: str
    attributes: dict[str, Any]
    types: dict[str, str]  # attribute name -> data type, for the attribute definitions


@dataclass(frozen=True)
class Answer:
    question: Question
    type: AnswerType
    value: str | tuple[str, ...]


@dataclass(frozen=True)
class RecordedAnswer:
    """An answer as a session keeps it (the question's name as it was when answered)."""

    id: str
    session_id: str
    question_cvid: str
    question_name: str
    type: AnswerType
    value: str | tuple[str, ...]
    created_at: str


@dataclass(frozen=True)
class Outcome:
    """What a step does: the session after it, the events it tracks, the answer it records,
    whether it lets go of the user's one active session of this content. `changed` False: a
    no-op (a retry)."""

    session: Session
    events: tuple[BuiltInEvent, ...] = ()
    answer: RecordedAnswer | None = None
    releases_lock: bool = False
    changed: bool = True


def started(session: Session) -> BuiltInEvent:
    return _event(session, FLOW_STARTED)


# --- progress ----------------------------------------------------------------------------------


def parse_progress(value: Any, field: str = "progress") -> Decimal:
    """A number or a decimal string from 0 to 1, kept to 4 decimal places (rounded down)."""
    problem = f'Invalid `{field}`: a number or decimal string from 0 to 1 (e.g. 0.4 or "0.4").'
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(problem)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise InvalidInput(problem) from None
    if not number.is_finite() or not NO_PROGRESS <= number <= FULL_PROGRESS:
        raise InvalidInput(problem)
    return number.quantize(PROGRESS_STEP, rounding=ROUND_DOWN)


def progress_text(progress: Decimal) -> str:
    """The API's decimal string: "0.4", "1", "0"."""
    return format(progress.normalize(), "f")


def record_progress(session: Session, progress: Decimal, now: str) -> Outcome:
    _check_active(session, "progress")
    if progress < session.progress:
        raise InvalidInput(
            f"Invalid `progress` {progress_text(progress)}: progress never decreases (this "
            f"session is at {progress_text(session.progress)})."
        )
    return Outcome(replace(session, progress=progress, last_activity_at=now))


# --- answers -----------------------------------------------------------------------------------


def parse_answer(question: Question, value: Any, field: str = "answer_value") -> Answer:
    """An answer checked against its question: nps 0-10, stars 1-5, choices from the
    question's, text within the size limit (a `text` answer on one line)."""
    if question.type is QuestionType.NPS:
        return Answer(question, AnswerType.NUMBER, str(_whole(value, 0, 10, field)))
    if question.type is QuestionType.STARS:
        return Answer(question, AnswerType.NUMBER, str(_whole(value, 1, 5, field)))
    if question.type is QuestionType.MULTIPLE_CHOICE:
        return Answer(question, AnswerType.LIST, _picked(question, value, field))
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"Invalid `{field}`: a {question.type} question takes non-empty text.")
    limits.check_text(value, field, MAX_ANSWER_BYTES)
    if question.type is QuestionType.TEXT and ("\n" in value or "\r" in value):
        raise InvalidInput(
            f"Invalid `{field}`: a text question takes one line (multiline_text takes more)."
        )
    return Answer(question, AnswerType.TEXT, value)


def _whole(value: Any, low: int, high: int, field: str) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 2:
        number = int(value)
    if number is None or not low <= number <= high:
        raise InvalidInput(f"Invalid `{field}`: a whole number from {low} to {high}.")
    return number


def _picked(question: Question, value: Any, field: str) -> tuple[str, ...]:
    picked = [value] if isinstance(value, str) else value
    choices = question.choices or ()
    if (
        not isinstance(picked, list)
        or not picked
        or not all(isinstance(p, str) for p in picked)
        or len(set(picked)) != len(picked)
    ):
        raise InvalidInput(
            f"Invalid `{field}`: one choice, or a list of distinct choices, of the question's."
        )
    unknown = [p for p in picked if p not in choices]
    if unknown:
        raise InvalidInput(
            f"Invalid `{field}`: {unknown[0][:100]!r} is not one of the question's choices."
        )
    return tuple(picked)


def record_answer(session: Session, answer: Answer, answer_id: str, now: str) -> Outcome:
    """The answer replaces any earlier answer to the same question (`cvid`)."""
    _check_active(session, "answers")
    recorded = RecordedAnswer(
        answer_id,
        session.id,
        answer.question.cvid,
        answer.question.name,
        answer.type,
        answer.value,
        now,
    )
    value = list(answer.value) if isinstance(answer.value, tuple) else answer.value
    event = _event(
        session,
        QUESTION_ANSWERED,
        {
            "question_cvid": answer.question.cvid,
            "question_name": answer.question.name,
            "answer_type": answer.type.value,
            "answer_value": value,
        },
        {"answer_value": "list" if answer.type is AnswerType.LIST else "string"},
    )
    return Outcome(replace(session, last_activity_at=now), (event,), recorded)


# --- checklist tasks, launchers, completion, ending ----------------------------------------------


def complete_task(session: Session, tasks: Sequence[Task], task: Task, now: str) -> Outcome:
    """The task done; progress becomes the share of tasks done (if higher), and the last
    task completes the checklist."""
    _check_active(session, "completed tasks")
    if task.cvid in session.completed_tasks:
        return Outcome(session, changed=False)
    done = (*session.completed_tasks, task.cvid)
    share = _share({t.cvid for t in tasks} & set(done), len(tasks))
    after = replace(
        session,
        completed_tasks=done,
        progress=max(session.progress, share),
        last_activity_at=now,
    )
    event = _event(
        session,
        CHECKLIST_TASK_COMPLETED,
        {"checklist_task_cvid": task.cvid, "checklist_task_name": task.name},
        {"checklist_task_cvid": "checklist_task"},
    )
    if share < FULL_PROGRESS:
        return Outcome(after, (event,))
    finished = _finish(after, Status.COMPLETED, now)
    return Outcome(finished, (event, _event(session, FLOW_COMPLETED)), releases_lock=True)


def _share(done: set[str], total: int) -> Decimal:
    return (Decimal(len(done)) / Decimal(total)).quantize(PROGRESS_STEP, rounding=ROUND_DOWN)


def activate_launcher(session: Session, now: str) -> Outcome:
    _check_active(session, "launcher activations")
    if session.content_type is not ContentType.LAUNCHER:
        raise InvalidInput(
            f"Invalid step: only launcher sessions are activated; this one runs a "
            f"{session.content_type}."
        )
    if session.launcher_activated:
        return Outcome(session, changed=False)
    after = replace(session, launcher_activated=True, last_activity_at=now)
    return Outcome(after, (_event(session, LAUNCHER_ACTIVATED),))


def complete(session: Session, tasks: Sequence[Task], now: str) -> Outcome:
    if session.status is Status.COMPLETED:
        return Outcome(session, changed=False)
    _check_active(session, "completion")
    if session.content_type is ContentType.CHECKLIST:
        left = [t for t in tasks if t.cvid not in session.completed_tasks]
        if left:
            raise InvalidInput(
                f"Invalid step: a checklist completes when all its tasks do; {len(left)} "
                f"left (e.g. {left[0].cvid!r})."
            )
    finished = _finish(session, Status.COMPLETED, now)
    return Outcome(finished, (_event(session, FLOW_COMPLETED),), releases_lock=True)


def end(session: Session, now: str) -> Outcome:
    """Ending a completed or ended session changes nothing."""
    if session.status is not Status.ACTIVE:
        return Outcome(session, changed=False)
    finished = _finish(session, Status.ENDED, now)
    return Outcome(finished, (_event(session, FLOW_ENDED),), releases_lock=True)


def _finish(session: Session, status: Status, now: str) -> Session:
    if status is Status.COMPLETED:
        return replace(
            session,
            status=status,
            progress=FULL_PROGRESS,
            completed_at=now,
            ended_at=now,
            last_activity_at=now,
        )
    return replace(session, status=status, ended_at=now, last_activity_at=now)


def _check_active(session: Session, steps: str) -> None:
    if session.status is not Status.ACTIVE:
        raise InvalidInput(
            f"Invalid step: session {session.id!r} is {session.status.value} and takes no more "
            f"{steps}; start a new session to run the content again."
        )


def _event(
    session: Session,
    name: str,
    extra: dict[str, Any] | None = None,
    extra_types: dict[str, str] | None = None,
) -> BuiltInEvent:
    attributes: dict[str, Any] = {
        "content_id": session.content_id,
        "content_version_id": session.version_id,
        "content_session_id": session.id,
        "content_type": session.content_type.value,
        **(extra or {}),
    }
    types = {**SESSION_ATTRIBUTE_TYPES, **{k: "string" for k in extra or {}}, **(extra_types or {})}
    return BuiltInEvent(name, attributes, types)
