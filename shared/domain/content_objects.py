"""The content half's API objects as the reference shows them: content, versions, their
questions and tasks (sessions and answers: session_objects.py). Apart from objects.py so the
functions that never show content do not import its rules at cold start.

Expandable fields default to null; the expander fills them in.
"""

from __future__ import annotations

from typing import Any

from shared.domain.content import Content, Question, Task, Version


def content_object(content: Content) -> dict[str, Any]:
    return {
        "id": content.id,
        "object": "content",
        "created_at": content.created_at,
        "draft_version_id": content.draft_version_id,
        "draft_version": None,
        "name": content.name,
        "published_version_id": content.published_version_id,
        "published_version": None,
        "type": content.type.value,
        # Extension: archived content starts no sessions and takes no edits.
        "archived_at": content.archived_at,
    }


def version_object(version: Version) -> dict[str, Any]:
    return {
        "id": version.id,
        "object": "content_version",
        "created_at": version.created_at,
        "description": version.description,
        "edited_at": version.edited_at,
        "number": version.number,
        "questions": None,
        "tasks": None,
    }


def question_object(question: Question) -> dict[str, Any]:
    return {
        "id": question.id,
        "object": "question",
        "cvid": question.cvid,
        "name": question.name,
        "type": question.type.value,
        # Extension: a multiple_choice question's options (null for the other types).
        "choices": list(question.choices) if question.choices is not None else None,
    }


def task_object(task: Task) -> dict[str, Any]:
    return {"id": task.id, "object": "checklist_task", "cvid": task.cvid, "name": task.name}
