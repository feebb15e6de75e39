"""Usertour's v1 API through HTTP: every object checked field by field against the shapes
its documentation gives (docs.usertour.io, API reference v1), on Waymark's own data."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.conftest import ApiClient
from tests.integration.content_support import author, ok, questions_of, start, step

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
USER = {"id", "object", "attributes", "createdAt", "companies", "memberships"}
COMPANY = {"id", "object", "attributes", "createdAt", "memberships", "users"}
MEMBERSHIP = {"id", "object", "attributes", "createdAt", "company", "companyId", "user", "userId"}
CONTENT = {
    "id",
    "object",
    "name",
    "type",
    "editedVersionId",
    "editedVersion",
    "publishedVersionId",
    "publishedVersion",
    "updatedAt",
    "createdAt",
}
VERSION = {"id", "object", "number", "questions", "updatedAt", "createdAt"}
QUESTION = {"id", "object", "cvid", "name", "type"}
SESSION = {
    "id",
    "object",
    "answers",
    "completedAt",
    "completed",
    "contentId",
    "content",
    "createdAt",
    "companyId",
    "company",
    "isPreview",
    "lastActivityAt",
    "progress",
    "userId",
    "user",
    "versionId",
    "version",
}
ANSWER = {"id", "object", "answerType", "answerValue", "createdAt", "questionCvid", "questionName"}
EVENT = {"id", "object", "attributes", "createdAt", "company", "companyId", "name", "time"} | {
    "user",
    "userId",
}
LIST = {"results", "next", "previous"}
ERROR = {"code", "message", "doc_url"} | {"request_id"}  # request_id: Waymark's, for support


def v1(api: ApiClient, method: str, path: str, **options: Any) -> tuple[int, Any]:
    """A v1 call as Usertour's docs make it: no Userflow-Version header."""
    headers = {"Userflow-Version": None, **options.pop("headers", {})}
    response = api.request(method, path, headers=headers, **options)
    return response.status, response.json()


def shaped(obj: Any, keys: set[str], object_name: str) -> dict[str, Any]:
    assert isinstance(obj, dict)
    assert set(obj) == keys, set(obj) ^ keys
    assert obj["object"] == object_name
    for field in ("createdAt", "updatedAt", "lastActivityAt"):
        if field in obj:
            assert ISO.match(obj[field]), (field, obj[field])
    return obj


@pytest.fixture
def world(api: ApiClient) -> dict[str, Any]:
    """A user in a company with a membership role, a published flow with a survey, and the
    user's session of it with two answers."""
    ok(
        api.request(
            "POST",
            "/users",
            json={
                "id": "usr_1",
                "attributes": {"name": "John Doe", "email": "john@example.com"},
                "memberships": [
                    {
                        "attributes": {"role": "admin"},
                        "group": {"id": "comp_1", "attributes": {"name": "Acme"}},
                    }
                ],
            },
        )
    )
    flow = author(api, name="Product Onboarding Flow")
    questions = questions_of(api, flow["published_version_id"])
    session = start(api, flow["id"], "usr_1", group_id="comp_1")
    nps, stars = questions["nps"]["cvid"], questions["stars"]["cvid"]
    step(api, session["id"], "answers", {"question_cvid": nps, "answer_value": 8})
    step(api, session["id"], "answers", {"question_cvid": stars, "answer_value": 4})
    step(api, session["id"], "progress", {"progress": 0.4})
    return {"flow": flow, "session": session, "nps": nps}


def test_users_companies_and_memberships(api: ApiClient, world: dict[str, Any]) -> None:
    status, user = v1(
        api,
        "GET",
        "/v1/users/usr_1",
        query=[
            ("expand[]", "memberships"),
            ("expand[]", "memberships.company"),
            ("expand[]", "companies"),
        ],
    )
    assert status == 200
    shaped(user, USER, "user")
    assert user["attributes"] == {"email": "john@example.com", "name": "John Doe"}
    (company,) = user["companies"]
    shaped(company, COMPANY, "company")
    assert (company["id"], company["attributes"]) == ("comp_1", {"name": "Acme"})
    assert company["memberships"] is None and company["users"] is None
    (membership,) = user["memberships"]
    shaped(membership, MEMBERSHIP, "companyMembership")
    assert (membership["companyId"], membership["userId"]) == ("comp_1", "usr_1")
    assert membership["attributes"] == {"role": "admin"}
    shaped(membership["company"], COMPANY, "company")
    assert membership["user"] is None

    status, plain = v1(api, "GET", "/v1/users/usr_1")
    assert (plain["companies"], plain["memberships"]) == (None, None)

    status, listed = v1(api, "GET", "/v1/companies", query=[("expand", "users")])
    assert status == 200 and set(listed) == LIST
    assert listed["next"] is None and listed["previous"] is None
    (company,) = listed["results"]
    assert [u["id"] for u in company["users"]] == ["usr_1"]
    shaped(company["users"][0], USER, "user")


def test_upserts_and_deletes_speak_v1(api: ApiClient) -> None:
    status, user = v1(
        api,
        "POST",
        "/v1/users",
        json={
            "id": "usr_2",
            "attributes": {"name": "Jane"},
            "companies": [{"id": "comp_2", "attributes": {"plan": "enterprise"}}],
        },
        query=[("expand", "companies")],
    )
    assert status == 200
    shaped(user, USER, "user")
    assert [c["id"] for c in user["companies"]] == ["comp_2"]

    status, company = v1(
        api, "POST", "/v1/companies", json={"id": "comp_3", "attributes": {"a": 1}}
    )
    assert status == 200 and shaped(company, COMPANY, "company")["attributes"] == {"a": 1}

    status, membership = v1(
        api,
        "POST",
        "/v1/company-memberships",
        json={"userId": "usr_2", "companyId": "comp_3", "attributes": {"role": "owner"}},
    )
    assert status == 200
    shaped(membership, MEMBERSHIP, "companyMembership")
    assert (membership["userId"], membership["companyId"]) == ("usr_2", "comp_3")
    assert membership["attributes"] == {"role": "owner"}

    status, removed = v1(
        api,
        "DELETE",
        "/v1/company-memberships",
        query=[("userId", "usr_2"), ("companyId", "comp_3")],
    )
    assert status == 200
    assert removed == {"id": membership["id"], "object": "companyMembership", "deleted": True}
    assert v1(api, "DELETE", "/v1/companies/comp_3")[1] == {
        "id": "comp_3",
        "object": "company",
        "deleted": True,
    }
    assert v1(api, "DELETE", "/v1/users/usr_2")[1] == {
        "id": "usr_2",
        "object": "user",
        "deleted": True,
    }

    status, both = v1(
        api, "POST", "/v1/users", json={"id": "x", "companies": [], "memberships": []}
    )
    assert status == 400
    assert (
        both["error"]["message"]
        == "Invalid `body`: only one of `companies` and `memberships` can be set."
    )


def test_content_versions_and_questions(api: ApiClient, world: dict[str, Any]) -> None:
    flow = world["flow"]
    status, listed = v1(api, "GET", "/v1/content", query=[("expand[]", "publishedVersion")])
    assert status == 200 and set(listed) == LIST
    (content,) = listed["results"]
    shaped(content, CONTENT, "content")
    assert content["editedVersion"] is None
    assert content["publishedVersionId"] == flow["published_version_id"]
    shaped(content["publishedVersion"], VERSION, "contentVersion")
    assert content["publishedVersion"]["questions"] is None
    assert content["updatedAt"] >= content["createdAt"]

    status, versions = v1(
        api,
        "GET",
        "/v1/content-versions",
        query=[("contentId", flow["id"]), ("expand", "questions"), ("orderBy", "-createdAt")],
    )
    assert status == 200
    numbers = [v["number"] for v in versions["results"]]
    assert numbers == sorted(numbers, reverse=True)
    questions = next(v for v in versions["results"] if v["id"] == flow["published_version_id"])[
        "questions"
    ]
    for question in questions:
        shaped(question, QUESTION, "question")
    assert [q["type"] for q in questions] == [
        "nps",
        "star-rating",
        "single-line-text",
        "multi-line-text",
        "multiple-choice",
    ]
    status, version = v1(api, "GET", f"/v1/content-versions/{flow['published_version_id']}")
    assert status == 200 and shaped(version, VERSION, "contentVersion")["questions"] is None


def test_content_sessions_and_ending_one(api: ApiClient, world: dict[str, Any]) -> None:
    flow, session_id = world["flow"], world["session"]["id"]
    status, session = v1(
        api,
        "GET",
        f"/v1/content-sessions/{session_id}",
        query=[("expand[]", name) for name in ("content", "version", "answers", "company", "user")],
    )
    assert status == 200
    shaped(session, SESSION, "contentSession")
    assert session["progress"] == 0.4
    assert (session["completed"], session["completedAt"], session["isPreview"]) == (
        False,
        None,
        False,
    )
    assert (session["companyId"], session["userId"]) == ("comp_1", "usr_1")
    shaped(session["content"], CONTENT, "content")
    assert session["content"]["editedVersion"] is None  # read for updatedAt, not asked for
    shaped(session["version"], VERSION, "contentVersion")
    assert session["version"]["questions"] is None
    shaped(session["company"], COMPANY, "company")
    shaped(session["user"], USER, "user")
    answers = {a["questionCvid"]: a for a in session["answers"]}
    for answer in answers.values():
        shaped(answer, ANSWER, "contentSessionAnswer")
    assert (answers[world["nps"]]["answerType"], answers[world["nps"]]["answerValue"]) == (
        "nps",
        "8",
    )
    assert {a["answerType"] for a in answers.values()} == {"nps", "star-rating"}

    status, listed = v1(
        api, "GET", "/v1/content-sessions", query=[("contentId", flow["id"]), ("limit", "1")]
    )
    assert status == 200 and set(listed) == LIST
    assert [s["id"] for s in listed["results"]] == [session_id]
    assert listed["results"][0]["answers"] is None

    status, ended = v1(api, "POST", f"/v1/content-sessions/{session_id}/end")
    assert status == 200
    shaped(ended, SESSION, "contentSession")
    again = v1(api, "POST", f"/v1/content-sessions/{session_id}/end")
    assert again[0] == 200  # idempotent, as documented
    assert v1(api, "DELETE", f"/v1/content-sessions/{session_id}")[1] == {
        "id": session_id,
        "object": "contentSession",
        "deleted": True,
    }


def test_lists_page_with_limit_and_cursor(api: ApiClient) -> None:
    for n in range(25):
        ok(api.request("POST", "/users", json={"id": f"p{n:02d}"}))
    status, first = v1(api, "GET", "/v1/users")
    assert status == 200 and len(first["results"]) == 20  # v1's default page
    assert first["next"] == "/v1/users?cursor=p19"
    status, rest = v1(api, "GET", first["next"])
    assert [u["id"] for u in rest["results"]] == [f"p{n:02d}" for n in range(20, 25)]
    assert rest["next"] is None


def test_events_in_v1_style(api: ApiClient) -> None:
    status, event = v1(
        api,
        "POST",
        "/v1/events",
        json={"userId": "e1", "name": "signed_up", "attributes": {"x": 1}},
    )
    assert status == 200
    shaped(event, EVENT, "event")
    assert (event["userId"], event["companyId"], event["name"]) == ("e1", None, "signed_up")
    status, listed = v1(api, "GET", "/v1/events", query=[("userId", "e1")])
    assert [e["id"] for e in listed["results"]] == [event["id"]]


@pytest.mark.parametrize(
    ("method", "path", "query", "status", "code"),
    [
        ("GET", "/v1/users/nobody", [], 404, "E1001"),
        ("GET", "/v1/companies/nobody", [], 404, "E1002"),
        ("GET", "/v1/content/nothing", [], 404, "E1004"),
        ("GET", "/v1/content-versions/nothing", [], 404, "E1004"),
        ("GET", "/v1/content-sessions/nothing", [], 404, "E1005"),
        ("POST", "/v1/content-sessions/nothing/end", [], 404, "E1005"),
        ("GET", "/v1/users", [("limit", "0")], 400, "E1006"),
        ("GET", "/v1/users", [("cursor", "nobody")], 400, "E1007"),
        ("GET", "/v1/content", [("orderBy", "colour")], 400, "E1016"),
        ("GET", "/v1/content-sessions", [], 400, "E1009"),
        ("GET", "/v1/users", [("expand", "nope")], 400, "E1017"),
        ("PATCH", "/v1/users/x", [], 405, "E1009"),
        ("GET", "/v1/company-memberships", [], 405, "E1009"),
    ],
)
def test_errors_carry_v1_codes(
    api: ApiClient, method: str, path: str, query: list[tuple[str, str]], status: int, code: str
) -> None:
    answered, body = v1(api, method, path, query=query)
    assert answered == status
    assert set(body) == {"error"}
    assert set(body["error"]) == ERROR
    assert body["error"]["code"] == code
    assert body["error"]["doc_url"] == "https://docs.usertour.io/api-reference/errors"
    if code == "E1007":
        assert "`cursor`" in body["error"]["message"]


def test_the_same_keys_and_environments(
    api: ApiClient, other_api: ApiClient, anonymous: ApiClient
) -> None:
    ok(api.request("POST", "/users", json={"id": "mine"}))
    assert v1(other_api, "GET", "/v1/users/mine")[0] == 404
    assert v1(anonymous, "GET", "/v1/users")[0] == 401
