"""Content sessions and their answers as the reference shows them. Apart from
content_objects.py so the content function does not import the session rules at cold start.

Expandable fields default to null; the expander fills them in.
"""

from __future__ import annotations

from typing import Any

from shared.domain.sessions import RecordedAnswer, Session, progress_text


def session_object(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "object": "content_session",
        "answers": None,
        "completed_at": session.completed_at,
        "completed": session.completed,
        "content_id": session.content_id,
        "content": None,
        "created_at": session.created_at,
        "group_id": session.group_id,
        "group": None,
        "is_preview": session.is_preview,
        "last_activity_at": session.last_activity_at,
        "launcher_activated": session.launcher_activated,
        "progress": progress_text(session.progress),
        "user_id": session.user_id,
        "user": None,
        "version_id": session.version_id,
        "version": None,
        # Extensions: the session's lifecycle.
        "status": session.status.value,
        "ended_at": session.ended_at,
        "duration": session.duration,
    }


def answer_object(answer: RecordedAnswer) -> dict[str, Any]:
    return {
        "id": answer.id,
        "object": "content_session_answer",
        "answer_type": answer.type.value,
        "answer_value": list(answer.value) if isinstance(answer.value, tuple) else answer.value,
        "created_at": answer.created_at,
        "question_cvid": answer.question_cvid,
        "question_name": answer.question_name,
    }
