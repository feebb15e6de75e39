"""Content and content versions through HTTP (DynamoDB Local): the reference's reads, and
authoring (an extension): drafts, cvids across versions, publishing, archiving."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import ApiClient
from tests.integration.content_support import (
    CONTENT_KEYS,
    QUESTION_KEYS,
    SURVEY,
    TASK_KEYS,
    VERSION_KEYS,
    author,
    ok,
)


def test_content_and_its_versions_read_back_as_the_reference_shows_them(api: ApiClient) -> None:
    created = ok(api.request("POST", "/content", json={"name": "Onboarding", "type": "flow"}))
    assert set(created) == CONTENT_KEYS
    assert created["object"] == "content" and created["type"] == "flow"
    assert created["name"] == "Onboarding"
    assert created["published_version_id"] is None and created["archived_at"] is None
    assert created["draft_version"] is None and created["published_version"] is None
    content_id, draft_id = created["id"], created["draft_version_id"]

    draft = ok(
        api.request(
            "PATCH",
            f"/content/{content_id}/draft",
            json={"description": "First cut", "questions": SURVEY},
        )
    )
    assert set(draft) == VERSION_KEYS
    assert (draft["id"], draft["object"], draft["number"]) == (draft_id, "content_version", 1)
    assert draft["description"] == "First cut"
    assert draft["questions"] is None and draft["tasks"] is None  # until expanded

    version = ok(
        api.request(
            "GET",
            f"/content_versions/{draft_id}",
            query=[("expand", "questions"), ("expand", "tasks")],
        )
    )
    assert version["tasks"] == []
    assert [set(q) for q in version["questions"]] == [QUESTION_KEYS] * len(SURVEY)
    assert [(q["object"], q["name"], q["type"]) for q in version["questions"]] == [
        ("question", s["name"], s["type"]) for s in SURVEY
    ]
    assert version["questions"][4]["choices"] == ["Red", "Blue", "Green"]
    assert version["questions"][0]["choices"] is None

    published = ok(api.request("POST", f"/content/{content_id}/publish"))
    assert published["published_version_id"] == published["draft_version_id"] == draft_id
    frozen = ok(api.request("GET", f"/content_versions/{draft_id}"))
    assert frozen["edited_at"] >= draft["edited_at"]

    read = ok(
        api.request(
            "GET",
            f"/content/{content_id}",
            query=[("expand[]", "draft_version.questions"), ("expand[]", "published_version")],
        )
    )
    assert set(read) == CONTENT_KEYS
    assert read["draft_version"]["id"] == draft_id
    assert len(read["draft_version"]["questions"]) == len(SURVEY)
    assert read["published_version"]["id"] == draft_id
    assert read["published_version"]["questions"] is None


def test_the_next_edit_after_publishing_starts_version_2_with_the_same_cvids(
    api: ApiClient,
) -> None:
    content = author(api, "checklist", "Getting started")
    v1 = ok(
        api.request(
            "GET",
            f"/content_versions/{content['published_version_id']}",
            query=[("expand", "tasks")],
        )
    )
    assert [set(t) for t in v1["tasks"]] == [TASK_KEYS, TASK_KEYS]
    assert v1["tasks"][0]["object"] == "checklist_task"
    first, second = v1["tasks"]

    v2 = ok(
        api.request(
            "PATCH",
            f"/content/{content['id']}/draft",
            query=[("expand", "tasks")],
            json={"tasks": [{"cvid": second["cvid"], "name": "Connect it"}, {"name": "Brand new"}]},
        )
    )
    assert v2["number"] == 2 and v2["id"] != v1["id"]
    kept, new = v2["tasks"]
    assert (kept["cvid"], kept["name"]) == (second["cvid"], "Connect it")
    assert kept["id"] != second["id"]  # ids change between versions, cvids do not
    assert new["cvid"] not in {first["cvid"], second["cvid"]}

    # Version 1 is published and never changes; the content shows both.
    assert (
        ok(api.request("GET", f"/content_versions/{v1['id']}", query=[("expand", "tasks")])) == v1
    )
    after = ok(api.request("GET", f"/content/{content['id']}"))
    assert (after["draft_version_id"], after["published_version_id"]) == (v2["id"], v1["id"])

    # Editing version 2 again changes it in place: still number 2.
    again = ok(
        api.request("PATCH", f"/content/{content['id']}/draft", json={"description": "Second"})
    )
    assert (again["id"], again["number"], again["description"]) == (v2["id"], 2, "Second")

    # A cvid of a task the draft no longer has is refused.
    refused = api.request(
        "PATCH",
        f"/content/{content['id']}/draft",
        json={"tasks": [{"cvid": first["cvid"], "name": "Back?"}]},
    )
    assert refused.status == 400 and "the draft has no task" in refused.json()["error"]["message"]


def test_versions_are_listed_per_content_by_number_with_the_number_filter(api: ApiClient) -> None:
    content = author(api)
    for number in (2, 3):
        ok(
            api.request(
                "PATCH", f"/content/{content['id']}/draft", json={"description": str(number)}
            )
        )
        ok(api.request("POST", f"/content/{content['id']}/publish"))
    other = author(api, name="Other")

    def numbers(*query: tuple[str, str]) -> list[int]:
        page = ok(
            api.request("GET", "/content_versions", query=[("content_id", content["id"]), *query])
        )
        return [v["number"] for v in page["data"]]

    assert numbers() == [1, 2, 3]
    assert numbers(("order_by", "-number")) == [3, 2, 1]
    assert numbers(("number", "2")) == [2]
    assert numbers(("number", "9")) == []

    first = ok(
        api.request(
            "GET", "/content_versions", query=[("content_id", content["id"]), ("limit", "2")]
        )
    )
    assert [v["number"] for v in first["data"]] == [1, 2] and first["has_more"] is True
    rest = ok(api.request("GET", first["next_page_url"]))
    assert [v["number"] for v in rest["data"]] == [3] and rest["has_more"] is False

    missing = api.request("GET", "/content_versions")
    assert missing.status == 400
    assert "`content_id` is required" in missing.json()["error"]["message"]
    for bad in (("number", "two"), ("number", "0"), ("order_by", "created_at")):
        assert (
            api.request(
                "GET", "/content_versions", query=[("content_id", content["id"]), bad]
            ).status
            == 400
        )
    foreign_anchor = api.request(
        "GET",
        "/content_versions",
        query=[("content_id", content["id"]), ("starting_after", other["published_version_id"])],
    )
    assert foreign_anchor.status == 400


def test_content_lists_page_and_order_by_created_at_and_name_with_the_type_filter(
    api: ApiClient,
) -> None:
    names = ["banana", "Apple", "cherry", "apricot"]
    types = ["flow", "checklist", "flow", "launcher"]
    created = [
        ok(api.request("POST", "/content", json={"name": n, "type": t}))
        for n, t in zip(names, types, strict=True)
    ]

    def walk(*query: tuple[str, str]) -> list[str]:
        seen: list[str] = []
        page = ok(api.request("GET", "/content", query=[("limit", "2"), *query]))
        while True:
            seen.extend(c["name"] for c in page["data"])
            if not page["has_more"]:
                return seen
            page = ok(api.request("GET", page["next_page_url"]))

    assert walk() == names
    assert walk(("order_by", "-created_at")) == names[::-1]
    assert walk(("order_by", "name")) == ["Apple", "apricot", "banana", "cherry"]
    assert walk(("order_by", "-name")) == ["cherry", "banana", "apricot", "Apple"]
    assert walk(("type", "flow")) == ["banana", "cherry"]
    assert walk(("type", "flow"), ("order_by", "-name")) == ["cherry", "banana"]

    listed = ok(
        api.request(
            "GET", "/content", query=[("expand", "draft_version.questions"), ("limit", "1")]
        )
    )
    (first,) = listed["data"]
    assert first["id"] == created[0]["id"]
    assert first["draft_version"]["id"] == created[0]["draft_version_id"]
    assert first["draft_version"]["questions"] == []
    assert first["published_version"] is None

    for bad in (
        ("type", "tour"),
        ("order_by", "type"),
        ("starting_after", "no-such-content"),
        ("expand", "draft_version.answers"),
    ):
        response = api.request("GET", "/content", query=[bad])
        assert response.status == 400, bad
        assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "/content", {"name": "x", "type": "tour"}, 400, "Invalid `type`"),
        (
            "POST",
            "/content",
            {"name": "", "type": "flow"},
            400,
            "Invalid `name`: must not be empty",
        ),
        ("POST", "/content", {"name": "x" * 1025, "type": "flow"}, 400, "1,024 bytes"),
        ("POST", "/content", {"name": "x", "type": "flow", "steps": []}, 400, "unknown field"),
        ("PATCH", "/content/{id}", {"type": "checklist"}, 400, "keeps the type"),
        ("PATCH", "/content/{id}/draft", {"tasks": [{"name": "t"}]}, 400, "only checklists"),
        (
            "PATCH",
            "/content/{id}/draft",
            {"questions": [{"name": "q", "type": "multiple_choice"}]},
            400,
            "needs choices",
        ),
        ("PATCH", "/content/{id}/draft", {"description": "é" * 2049}, 400, "4,096 bytes"),
        ("POST", "/content/{id}/publish", {"description": 3}, 400, "Invalid `description`"),
        ("POST", "/content/{id}/archive", {"reason": "old"}, 400, "unknown field"),
        ("GET", "/content/nope", None, 404, "No content with id 'nope'"),
        ("PATCH", "/content/nope/draft", {"description": "x"}, 404, "No content"),
        ("POST", "/content/nope/publish", None, 404, "No content"),
        ("GET", "/content_versions/nope", None, 404, "No content version"),
    ],
)
def test_authoring_refusals_change_nothing(
    api: ApiClient, method: str, path: str, body: Any, status: int, message: str
) -> None:
    content = author(api, "flow", publish=False)
    before = ok(
        api.request(
            "GET", f"/content/{content['id']}", query=[("expand", "draft_version.questions")]
        )
    )
    response = api.request(method, path.format(id=content["id"]), json=body)
    assert response.status == status, response.text
    assert message in response.json()["error"]["message"]
    after = ok(
        api.request(
            "GET", f"/content/{content['id']}", query=[("expand", "draft_version.questions")]
        )
    )
    assert after == before
    assert len(ok(api.request("GET", "/content"))["data"]) == 1


def test_archived_content_takes_no_edits_until_unarchived(api: ApiClient) -> None:
    content = author(api, publish=False)
    archived = ok(api.request("POST", f"/content/{content['id']}/archive"))
    assert archived["archived_at"] is not None
    assert ok(api.request("POST", f"/content/{content['id']}/archive")) == archived  # idempotent
    for method, path, body in (
        ("PATCH", "", {"name": "New"}),
        ("PATCH", "/draft", {"description": "x"}),
        ("POST", "/publish", None),
    ):
        response = api.request(method, f"/content/{content['id']}{path}", json=body)
        assert response.status == 400 and "is archived" in response.json()["error"]["message"]
    assert ok(api.request("GET", f"/content/{content['id']}"))["archived_at"] is not None
    restored = ok(api.request("POST", f"/content/{content['id']}/unarchive"))
    assert restored["archived_at"] is None
    assert (
        ok(api.request("PATCH", f"/content/{content['id']}", json={"name": "New"}))["name"] == "New"
    )


def test_content_stays_in_its_environment(api: ApiClient, other_api: ApiClient) -> None:
    content = author(api)
    assert other_api.request("GET", f"/content/{content['id']}").status == 404
    assert (
        other_api.request("GET", f"/content_versions/{content['draft_version_id']}").status == 404
    )
    assert ok(other_api.request("GET", "/content"))["data"] == []
    assert (
        ok(other_api.request("GET", "/content_versions", query=[("content_id", content["id"])]))[
            "data"
        ]
        == []
    )
    assert other_api.request("POST", f"/content/{content['id']}/publish").status == 404
