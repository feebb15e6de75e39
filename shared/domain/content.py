"""Content (flows, checklists, launchers) and their versions, as pure rules.

A content object always has a draft version. Editing the draft changes it in place until it
is published; a published version never changes again, so the next edit starts a new draft
(the next number), copied from it: its questions and tasks get new `id`s and keep their
`cvid`s, the cross-version ids that answers and completed tasks refer to.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shared.domain import limits
from shared.domain.errors import InvalidInput
from shared.domain.limits import (
    MAX_CHOICE_BYTES,
    MAX_CHOICES,
    MAX_COMPONENT_NAME_BYTES,
    MAX_COMPONENTS_PER_VERSION,
    MAX_CONTENT_NAME_BYTES,
    MAX_VERSION_DESCRIPTION_BYTES,
)


class ContentType(enum.StrEnum):
    CHECKLIST = "checklist"
    FLOW = "flow"
    LAUNCHER = "launcher"


class QuestionType(enum.StrEnum):
    MULTILINE_TEXT = "multiline_text"
    MULTIPLE_CHOICE = "multiple_choice"
    NPS = "nps"
    STARS = "stars"
    TEXT = "text"


@dataclass(frozen=True)
class Question:
    id: str
    cvid: str
    name: str
    type: QuestionType
    choices: tuple[str, ...] | None = None  # multiple_choice only


@dataclass(frozen=True)
class Task:
    id: str
    cvid: str
    name: str


@dataclass(frozen=True)
class QuestionDraft:
    """A question as an edit gives it: without `cvid` it is new."""

    name: str
    type: QuestionType
    cvid: str | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TaskDraft:
    name: str
    cvid: str | None = None


@dataclass(frozen=True)
class Version:
    id: str
    content_id: str
    number: int
    created_at: str
    edited_at: str
    description: str | None = None
    published_at: str | None = None  # set once: a published version never changes again
    questions: tuple[Question, ...] = ()
    tasks: tuple[Task, ...] = ()

    @property
    def published(self) -> bool:
        return self.published_at is not None


@dataclass(frozen=True)
class Content:
    id: str
    name: str
    type: ContentType
    created_at: str
    draft_version_id: str
    published_version_id: str | None = None
    archived_at: str | None = None
    latest_number: int = 1  # the highest version number so far


_UNSET: Any = object()


@dataclass(frozen=True)
class DraftEdit:
    """What an edit of the draft gives: each field given replaces the draft's."""

    description: str | None = _UNSET
    questions: tuple[QuestionDraft, ...] | None = None
    tasks: tuple[TaskDraft, ...] | None = None


NewId = Callable[[], str]


def new_content(
    name: str, content_type: ContentType, new_id: NewId, now: str
) -> tuple[Content, Version]:
    """A content object and its first draft, version 1, empty."""
    limits.check_text(name, "name", MAX_CONTENT_NAME_BYTES)
    content_id, version_id = new_id(), new_id()
    draft = Version(version_id, content_id, 1, created_at=now, edited_at=now)
    return Content(content_id, name, content_type, now, version_id), draft


def check_editable(content: Content) -> None:
    if content.archived_at is not None:
        raise InvalidInput(
            f"Invalid request: content {content.id!r} is archived; unarchive it first "
            f"(POST /content/{content.id}/unarchive)."
        )


def rename(content: Content, name: str) -> Content:
    check_editable(content)
    limits.check_text(name, "name", MAX_CONTENT_NAME_BYTES)
    return replace(content, name=name)


def edit_draft(
    content: Content, draft: Version, edit: DraftEdit, new_id: NewId, now: str
) -> Version:
    """The draft after `edit`: the same version edited in place, or, when the draft is
    published, a new version (the next number) copied from it and then edited."""
    check_editable(content)
    if draft.published:
        questions, tasks = copied(draft.questions, draft.tasks, new_id)
        draft = replace(
            draft,
            id=new_id(),
            number=content.latest_number + 1,
            created_at=now,
            published_at=None,
            questions=questions,
            tasks=tasks,
        )
    description = draft.description
    if edit.description is not _UNSET:
        description = edit.description
        if description is not None:
            limits.check_text(
                description, "description", MAX_VERSION_DESCRIPTION_BYTES, allow_empty=True
            )
    return replace(
        draft,
        description=description,
        edited_at=now,
        questions=draft.questions
        if edit.questions is None
        else plan_questions(content.type, draft.questions, edit.questions, new_id),
        tasks=draft.tasks
        if edit.tasks is None
        else plan_tasks(content.type, draft.tasks, edit.tasks, new_id),
    )


def publish(
    content: Content, draft: Version, description: str | None, now: str
) -> tuple[Content, Version] | None:
    """The content and its draft, published (frozen now); None when the draft is published
    already and there is nothing to change (a retry)."""
    check_editable(content)
    if draft.published:
        if description is not None and description != draft.description:
            raise InvalidInput(
                f"Invalid `description`: version {draft.number} is published and never "
                "changes; edit the draft to start a new version."
            )
        return None
    if description is not None:
        limits.check_text(
            description, "description", MAX_VERSION_DESCRIPTION_BYTES, allow_empty=True
        )
    frozen = replace(
        draft,
        description=draft.description if description is None else description,
        edited_at=now,
        published_at=now,
    )
    return replace(content, published_version_id=draft.id), frozen


def plan_questions(
    content_type: ContentType,
    current: Sequence[Question],
    drafts: Sequence[QuestionDraft],
    new_id: NewId,
) -> tuple[Question, ...]:
    """The draft's questions after an edit that lists them all (in their new order).

    A listed `cvid` must name a question of the draft; questions left out are removed. A
    question kept keeps its `id` (call `copied` first when the edit starts a new version).
    """
    by_cvid = {q.cvid: q for q in current}
    _check_components(content_type, ContentType.FLOW, [d.cvid for d in drafts], by_cvid.keys())
    planned = []
    for index, draft in enumerate(drafts):
        path = f"questions[{index}]"
        name = limits.check_text(draft.name, f"{path}.name", MAX_COMPONENT_NAME_BYTES)
        choices = _choices(draft, path)
        kept = by_cvid.get(draft.cvid) if draft.cvid else None
        if kept is None:
            planned.append(Question(new_id(), new_id(), name, draft.type, choices))
        else:
            planned.append(replace(kept, name=name, type=draft.type, choices=choices))
    return tuple(planned)


def plan_tasks(
    content_type: ContentType,
    current: Sequence[Task],
    drafts: Sequence[TaskDraft],
    new_id: NewId,
) -> tuple[Task, ...]:
    """The draft's tasks after an edit that lists them all (as `plan_questions`)."""
    by_cvid = {t.cvid: t for t in current}
    _check_components(content_type, ContentType.CHECKLIST, [d.cvid for d in drafts], by_cvid.keys())
    planned = []
    for index, draft in enumerate(drafts):
        name = limits.check_text(draft.name, f"tasks[{index}].name", MAX_COMPONENT_NAME_BYTES)
        kept = by_cvid.get(draft.cvid) if draft.cvid else None
        planned.append(Task(new_id(), new_id(), name) if kept is None else replace(kept, name=name))
    return tuple(planned)


def copied(
    questions: Sequence[Question], tasks: Sequence[Task], new_id: NewId
) -> tuple[tuple[Question, ...], tuple[Task, ...]]:
    """A new version's components: the same, with new `id`s and the same `cvid`s."""
    return (
        tuple(replace(q, id=new_id()) for q in questions),
        tuple(replace(t, id=new_id()) for t in tasks),
    )


# The components each type of content has: (field, one of them).
_COMPONENTS = {
    ContentType.FLOW: ("questions", "question"),
    ContentType.CHECKLIST: ("tasks", "task"),
}


def _check_components(
    content_type: ContentType,
    owner: ContentType,
    cvids: Sequence[str | None],
    known: Collection[str],
) -> None:
    """The components listed for `owner`'s kind (questions of flows, tasks of checklists):
    only that type has them, at most 100, each `cvid` one of the draft's, none twice."""
    field, what = _COMPONENTS[owner]
    if cvids and content_type is not owner:
        raise InvalidInput(
            f"Invalid `{field}`: only {owner.value}s have {field}, not {content_type.value}s."
        )
    if len(cvids) > MAX_COMPONENTS_PER_VERSION:
        raise InvalidInput(
            f"Invalid `{field}`: a version has at most {MAX_COMPONENTS_PER_VERSION} {field}."
        )
    seen: set[str] = set()
    for index, cvid in enumerate(cvids):
        if cvid is None:
            continue
        if cvid not in known:
            raise InvalidInput(
                f"Invalid `{field}[{index}].cvid`: the draft has no {what} {cvid!r} "
                f"(leave `cvid` out for a new {what})."
            )
        if cvid in seen:
            raise InvalidInput(f"Invalid `{field}[{index}].cvid`: {cvid!r} is listed twice.")
        seen.add(cvid)


def _choices(draft: QuestionDraft, path: str) -> tuple[str, ...] | None:
    if draft.type is not QuestionType.MULTIPLE_CHOICE:
        if draft.choices is not None:
            raise InvalidInput(
                f"Invalid `{path}.choices`: only multiple_choice questions have choices."
            )
        return None
    if not draft.choices:
        raise InvalidInput(f"Invalid `{path}.choices`: a multiple_choice question needs choices.")
    if len(draft.choices) > MAX_CHOICES:
        raise InvalidInput(f"Invalid `{path}.choices`: at most {MAX_CHOICES} choices.")
    for index, choice in enumerate(draft.choices):
        limits.check_text(choice, f"{path}.choices[{index}]", MAX_CHOICE_BYTES)
    if len(set(draft.choices)) != len(draft.choices):
        raise InvalidInput(f"Invalid `{path}.choices`: choices must be distinct.")
    return tuple(draft.choices)
