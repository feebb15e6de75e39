"""Authoring and session helpers the content suites share, and the reference's object keys."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import ApiClient

# The reference's fields, then Waymark's documented extensions.
CONTENT_KEYS = {
    "id",
    "object",
    "created_at",
    "draft_version_id",
    "draft_version",
    "name",
    "published_version_id",
    "published_version",
    "type",
} | {"archived_at"}
VERSION_KEYS = {
    "id",
    "object",
    "created_at",
    "description",
    "edited_at",
    "number",
    "questions",
    "tasks",
}
QUESTION_KEYS = {"id", "object", "cvid", "name", "type"} | {"choices"}
TASK_KEYS = {"id", "object", "cvid", "name"}
SESSION_KEYS = {
    "id",
    "object",
    "answers",
    "completed_at",
    "completed",
    "content_id",
    "content",
    "created_at",
    "group_id",
    "group",
    "is_preview",
    "last_activity_at",
    "launcher_activated",
    "progress",
    "user_id",
    "user",
    "version_id",
    "version",
} | {"status", "ended_at", "duration"}
ANSWER_KEYS = {
    "id",
    "object",
    "answer_type",
    "answer_value",
    "created_at",
    "question_cvid",
    "question_name",
}

SURVEY: list[dict[str, Any]] = [
    {"name": "How likely are you to recommend us?", "type": "nps"},
    {"name": "Rate the tour", "type": "stars"},
    {"name": "Feedback", "type": "text"},
    {"name": "What else?", "type": "multiline_text"},
    {"name": "Favourite colours", "type": "multiple_choice", "choices": ["Red", "Blue", "Green"]},
]
TASKS: list[dict[str, Any]] = [{"name": "Invite a teammate"}, {"name": "Connect a calendar"}]


def ok(response: Any) -> dict[str, Any]:
    """The JSON of a 200, or a failure showing what came back."""
    assert response.status == 200, (response.status, response.text)
    found: dict[str, Any] = response.json()
    return found


def author(
    api: ApiClient,
    content_type: str = "flow",
    name: str = "Onboarding",
    *,
    publish: bool = True,
    questions: list[dict[str, Any]] | None = None,
    tasks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Content with a draft (questions for flows, tasks for checklists), published by
    default; returns the content object."""
    content = ok(api.request("POST", "/content", json={"name": name, "type": content_type}))
    draft: dict[str, Any] = {}
    if content_type == "flow":
        draft["questions"] = SURVEY if questions is None else questions
    if content_type == "checklist":
        draft["tasks"] = TASKS if tasks is None else tasks
    if draft:
        ok(api.request("PATCH", f"/content/{content['id']}/draft", json=draft))
    if publish:
        content = ok(api.request("POST", f"/content/{content['id']}/publish"))
    return content


def questions_of(api: ApiClient, version_id: str) -> dict[str, dict[str, Any]]:
    """A version's questions by type (tasks by name)."""
    version = ok(
        api.request(
            "GET",
            f"/content_versions/{version_id}",
            query=[("expand[]", "questions"), ("expand[]", "tasks")],
        )
    )
    return {q["type"]: q for q in version["questions"]} | {t["name"]: t for t in version["tasks"]}


def start(api: ApiClient, content_id: str, user_id: str, **extra: Any) -> dict[str, Any]:
    return ok(
        api.request(
            "POST",
            "/content_sessions",
            json={"content_id": content_id, "user_id": user_id, **extra},
        )
    )


def step(api: ApiClient, session_id: str, action: str, body: Any = None) -> Any:
    """POST /content_sessions/<id>/<action>: the response, whatever its status."""
    return api.request("POST", f"/content_sessions/{session_id}/{action}", json=body)
