"""The Usertour v1 mapping as pure rules: requests in Waymark's terms, answers in v1's."""

from __future__ import annotations

import pytest

from shared.usertour import mapping


def test_query_parameters_and_expansions_in_waymark_terms() -> None:
    query, asked = mapping.waymark_params(
        "/v1/users",
        {
            "cursor": ["u9"],
            "companyId": ["acme"],
            "orderBy[]": ["-createdAt", "attributes.signedUpAt"],
            "expand[]": ["memberships.company", "companies"],
            "unknown": ["kept"],  # ignored downstream, as every undocumented parameter
        },
        listing=True,
    )
    assert query == {
        "starting_after": ["u9"],
        "group_id": ["acme"],
        "order_by[]": ["-created_at", "attributes.signedUpAt"],
        "unknown": ["kept"],
        "limit": ["20"],
        "expand[]": ["memberships.group", "groups"],
    }
    assert asked == ["memberships.group", "groups"]


def test_a_route_asks_for_what_its_mapping_needs_beyond_the_client() -> None:
    query, asked = mapping.waymark_params(
        "/v1/content-sessions/{session_id}", {"expand": ["answers", "content"]}, listing=False
    )
    assert asked == ["answers", "content"]
    assert query["expand[]"] == ["answers", "content", "version.questions", "content.draft_version"]
    assert "limit" not in query
    versions, _ = mapping.waymark_params(
        "/v1/content-versions", {"orderBy": ["-createdAt"]}, listing=True
    )
    assert versions["order_by"] == ["-number"]  # versions are created in number order


def test_bodies_in_waymark_terms() -> None:
    assert mapping.waymark_user_body(
        {"id": "u", "companies": [{"id": "c"}], "memberships": [{"company": {"id": "c"}}]}
    ) == {"id": "u", "groups": [{"id": "c"}], "memberships": [{"group": {"id": "c"}}]}
    assert mapping.waymark_membership_body(
        {"userId": "u", "companyId": "c", "attributes": {"role": "x"}}
    ) == {"id": "u", "memberships": [{"attributes": {"role": "x"}, "group": {"id": "c"}}]}
    assert mapping.waymark_event_body({"userId": "u", "companyId": "c", "name": "n"}) == {
        "user_id": "u",
        "group_id": "c",
        "name": "n",
    }


@pytest.mark.parametrize(
    ("status", "code", "message", "resource", "v1_code", "v1_message"),
    [
        (404, "not_found", "No user with id 'x'.", "/v1/users/{user_id}", "E1001", None),
        (
            404,
            "not_found",
            "No group with id 'x'.",
            "/v1/companies/{company_id}",
            "E1002",
            "No company with id 'x'.",
        ),
        (404, "not_found", "Unrecognized URL /v1/x.", "/v1/users", "E1009", None),
        (
            400,
            "invalid_request",
            "Invalid `limit` 0: must be between 1 and 100.",
            "/v1/users",
            "E1006",
            None,
        ),
        (
            400,
            "invalid_request",
            "Invalid `starting_after`: no user with id 'u'.",
            "/v1/users",
            "E1007",
            "Invalid `cursor`: no user with id 'u'.",
        ),
        (
            400,
            "invalid_request",
            "Invalid `order_by` field 'x'.",
            "/v1/content",
            "E1016",
            "Invalid `orderBy` field 'x'.",
        ),
        (
            400,
            "invalid_request",
            "Invalid `groups.0.id`: must not be empty.",
            "/v1/users",
            "E1017",
            "Invalid `companies.0.id`: must not be empty.",
        ),
        (400, "invalid_version", "Unsupported Userflow-Version.", "/v1/users", "E1009", None),
        (409, "conflict", "Too many concurrent updates.", "/v1/users", "E1009", None),
        (503, "service_unavailable", "Retry shortly.", "/v1/users", "E1014", None),
    ],
)
def test_errors_in_v1_codes_and_names(
    status: int,
    code: str,
    message: str,
    resource: str,
    v1_code: str,
    v1_message: str | None,
) -> None:
    error = mapping.v1_error(status, code, message, resource, "req-1")["error"]
    assert error == {
        "code": v1_code,
        "message": v1_message or message,
        "doc_url": mapping.DOC_URL,
        "request_id": "req-1",
    }


def test_a_session_as_v1_shows_it_with_answers_typed_by_their_questions() -> None:
    session = {
        "id": "s",
        "object": "content_session",
        "answers": [
            {
                "id": "a1",
                "object": "content_session_answer",
                "answer_type": "list",
                "answer_value": ["Red", "Blue"],
                "created_at": "t",
                "question_cvid": "q1",
                "question_name": "Colours",
            }
        ],
        "completed_at": None,
        "completed": False,
        "content_id": "c",
        "content": None,
        "created_at": "t",
        "group_id": None,
        "group": None,
        "is_preview": False,
        "last_activity_at": "t",
        "launcher_activated": False,
        "progress": "0.2500",
        "user_id": "u",
        "user": None,
        "version_id": "v",
        "version": {
            "id": "v",
            "object": "content_version",
            "number": 1,
            "questions": [
                {
                    "id": "i",
                    "object": "question",
                    "cvid": "q1",
                    "name": "Colours",
                    "type": "multiple_choice",
                    "choices": ["Red", "Blue"],
                }
            ],
            "created_at": "t",
            "edited_at": "t",
            "description": None,
            "tasks": None,
        },
        "status": "active",
        "ended_at": None,
        "duration": None,
    }
    shown = mapping.v1_object(session, ["answers"])
    assert shown["progress"] == 0.25
    assert shown["version"] is None  # read to type the answers, not asked for
    assert shown["answers"] == [
        {
            "id": "a1",
            "object": "contentSessionAnswer",
            "answerType": "multiple-choice",
            "answerValue": '["Red", "Blue"]',
            "createdAt": "t",
            "questionCvid": "q1",
            "questionName": "Colours",
        }
    ]


def test_a_list_pages_with_v1_parameters() -> None:
    page = {
        "object": "list",
        "data": [],
        "has_more": True,
        "next_page_url": "/users?limit=2&starting_after=u2",
    }
    shown = mapping.v1_list(page, [], "/v1/users", {"limit": ["2"], "cursor": ["u0"]})
    assert shown == {"results": [], "next": "/v1/users?limit=2&cursor=u2", "previous": None}
    assert mapping.v1_list({**page, "has_more": False}, [], "/v1/users", {})["next"] is None
