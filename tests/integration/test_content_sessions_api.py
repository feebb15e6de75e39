"""Content sessions through HTTP (DynamoDB Local): the reference's reads and delete, and the
session runtime (an extension): start, progress, answers, tasks, launchers, completion, end;
one active session per user and content; built-in events; deleting users and groups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import ApiClient
from tests.integration.content_support import (
    ANSWER_KEYS,
    SESSION_KEYS,
    author,
    ok,
    questions_of,
    start,
    step,
)
from tests.integration.receivers import Receiver, verify_userflow_signature

BUILT_IN = ("flow_started", "question_answered", "flow_completed")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def users(api: ApiClient, *ids: str, group: str | None = None) -> None:
    for user_id in ids:
        body: dict[str, Any] = {"id": user_id, "attributes": {"name": user_id.title()}}
        if group:
            body["memberships"] = [{"attributes": {"role": "admin"}, "group": {"id": group}}]
        ok(api.request("POST", "/users", json=body))


def events_named(api: ApiClient, user_id: str) -> list[str]:
    page = ok(api.request("GET", "/events", query=[("user_id", user_id), ("limit", "100")]))
    return [e["name"] for e in reversed(page["data"])]


def test_a_flow_from_authoring_to_completion_reads_back_field_by_field(api: ApiClient) -> None:
    users(api, "u1", group="acme")
    content = author(api)
    questions = questions_of(api, content["published_version_id"])

    session = start(api, content["id"], "u1", group_id="acme")
    assert set(session) == SESSION_KEYS
    assert session["object"] == "content_session"
    assert (session["content_id"], session["version_id"]) == (
        content["id"],
        content["published_version_id"],
    )
    assert (session["user_id"], session["group_id"], session["is_preview"]) == ("u1", "acme", False)
    assert (session["progress"], session["completed"], session["completed_at"]) == (
        "0",
        False,
        None,
    )
    assert session["launcher_activated"] is False
    assert session["last_activity_at"] == session["created_at"]
    assert (session["status"], session["ended_at"], session["duration"]) == ("active", None, None)
    for field in ("answers", "content", "user", "group", "version"):
        assert session[field] is None
    session_id = session["id"]

    assert ok(step(api, session_id, "progress", {"progress": 0.4}))["progress"] == "0.4"
    for question_type, value in (
        ("nps", 9),
        ("stars", "4"),
        ("text", "I really like your app!"),
        ("multiline_text", "Line one\nLine two"),
        ("multiple_choice", ["Blue", "Red"]),
    ):
        answered = ok(
            step(
                api,
                session_id,
                "answers",
                {"question_cvid": questions[question_type]["cvid"], "answer_value": value},
            )
        )
        assert answered["last_activity_at"] >= session["last_activity_at"]
    assert ok(step(api, session_id, "progress", {"progress": "0.8"}))["progress"] == "0.8"

    completed = ok(step(api, session_id, "complete"))
    assert (completed["completed"], completed["progress"], completed["status"]) == (
        True,
        "1",
        "completed",
    )
    assert completed["completed_at"] == completed["ended_at"] == completed["last_activity_at"]
    assert isinstance(completed["duration"], int) and completed["duration"] >= 0

    read = ok(
        api.request(
            "GET",
            f"/content_sessions/{session_id}",
            query=[
                ("expand[]", "answers"),
                ("expand[]", "content.published_version"),
                ("expand[]", "version.questions"),
                ("expand[]", "user.memberships.group"),
                ("expand[]", "group"),
            ],
        )
    )
    assert {
        k: v for k, v in read.items() if k not in {"answers", "content", "version", "user", "group"}
    } == {
        k: v
        for k, v in completed.items()
        if k not in {"answers", "content", "version", "user", "group"}
    }
    answers = {a["question_cvid"]: a for a in read["answers"]}
    assert [set(a) for a in read["answers"]] == [ANSWER_KEYS] * 5
    nps = answers[questions["nps"]["cvid"]]
    assert (nps["object"], nps["answer_type"], nps["answer_value"]) == (
        "content_session_answer",
        "number",
        "9",
    )
    assert nps["question_name"] == "How likely are you to recommend us?"
    assert answers[questions["stars"]["cvid"]]["answer_value"] == "4"
    assert answers[questions["text"]["cvid"]]["answer_type"] == "text"
    assert answers[questions["multiple_choice"]["cvid"]]["answer_value"] == ["Blue", "Red"]
    assert answers[questions["multiple_choice"]["cvid"]]["answer_type"] == "list"
    assert read["content"]["id"] == content["id"]
    assert read["content"]["published_version"]["id"] == content["published_version_id"]
    assert [q["cvid"] for q in read["version"]["questions"]] == [
        questions[t]["cvid"] for t in ("nps", "stars", "text", "multiline_text", "multiple_choice")
    ]
    assert read["user"]["id"] == "u1"
    assert read["user"]["memberships"][0]["group"]["id"] == "acme"
    assert read["group"]["id"] == "acme"

    assert events_named(api, "u1") == [
        "flow_started",
        *["question_answered"] * 5,
        "flow_completed",
    ]


def test_an_answer_to_the_same_question_replaces_the_first(api: ApiClient) -> None:
    users(api, "u1")
    content = author(api)
    nps = questions_of(api, content["published_version_id"])["nps"]
    session = start(api, content["id"], "u1")
    for value in (3, 8):
        ok(
            step(
                api, session["id"], "answers", {"question_cvid": nps["cvid"], "answer_value": value}
            )
        )
    read = ok(
        api.request("GET", f"/content_sessions/{session['id']}", query=[("expand", "answers")])
    )
    assert [a["answer_value"] for a in read["answers"]] == ["8"]


def test_a_checklist_completes_with_its_last_task(api: ApiClient) -> None:
    users(api, "u1")
    content = author(api, "checklist")
    tasks = questions_of(api, content["published_version_id"])
    session = start(api, content["id"], "u1")
    first, second = tasks["Invite a teammate"], tasks["Connect a calendar"]
    assert step(api, session["id"], "complete").status == 400  # tasks left
    halfway = ok(step(api, session["id"], f"tasks/{first['cvid']}/complete"))
    assert (halfway["progress"], halfway["status"]) == ("0.5", "active")
    assert ok(step(api, session["id"], f"tasks/{first['cvid']}/complete")) == halfway  # again
    done = ok(step(api, session["id"], f"tasks/{second['cvid']}/complete"))
    assert (done["progress"], done["completed"], done["status"]) == ("1", True, "completed")
    assert events_named(api, "u1") == [
        "flow_started",
        "checklist_task_completed",
        "checklist_task_completed",
        "flow_completed",
    ]
    assert step(api, session["id"], "tasks/no-such-task/complete").status == 404


def test_a_launcher_is_activated_once_then_ended(api: ApiClient) -> None:
    users(api, "u1")
    content = author(api, "launcher")
    session = start(api, content["id"], "u1")
    activated = ok(step(api, session["id"], "activate_launcher"))
    assert activated["launcher_activated"] is True
    assert ok(step(api, session["id"], "activate_launcher")) == activated
    ended = ok(step(api, session["id"], "end"))
    assert (ended["status"], ended["completed"], ended["completed_at"]) == ("ended", False, None)
    assert ended["ended_at"] is not None and isinstance(ended["duration"], int)
    assert ok(step(api, session["id"], "end")) == ended  # ending again changes nothing
    assert events_named(api, "u1") == ["flow_started", "launcher_activated", "flow_ended"]


def test_a_preview_runs_the_draft_and_only_published_content_runs_otherwise(
    api: ApiClient,
) -> None:
    users(api, "u1", "u2")
    content = author(api, publish=False)
    refused = api.request(
        "POST", "/content_sessions", json={"content_id": content["id"], "user_id": "u1"}
    )
    assert refused.status == 400 and "no published version" in refused.json()["error"]["message"]
    preview = start(api, content["id"], "u1", is_preview=True)
    assert (preview["is_preview"], preview["version_id"]) == (True, content["draft_version_id"])

    ok(api.request("POST", f"/content/{content['id']}/archive"))
    archived = api.request(
        "POST",
        "/content_sessions",
        json={"content_id": content["id"], "user_id": "u2", "is_preview": True},
    )
    assert archived.status == 400 and "archived" in archived.json()["error"]["message"]


def test_parallel_starts_make_one_active_session(api: ApiClient) -> None:
    users(api, "u1")
    content = author(api)

    def start_one(_: int) -> tuple[int, str]:
        response = api.request(
            "POST", "/content_sessions", json={"content_id": content["id"], "user_id": "u1"}
        )
        return response.status, response.json().get("id", response.text)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(start_one, range(8)))
    assert {status for status, _ in results} == {200}
    assert len({session_id for _, session_id in results}) == 1
    listed = ok(
        api.request(
            "GET", "/content_sessions", query=[("user_id", "u1"), ("content_id", content["id"])]
        )
    )
    assert [s["id"] for s in listed["data"]] == [results[0][1]]
    assert events_named(api, "u1") == ["flow_started"]

    # The same start on another version (a preview of the draft) is refused while it is active;
    # once it ends, the next start is a new session.
    ok(api.request("PATCH", f"/content/{content['id']}/draft", json={"description": "v2"}))
    other = api.request(
        "POST",
        "/content_sessions",
        json={"content_id": content["id"], "user_id": "u1", "is_preview": True},
    )
    assert other.status == 400 and "has an active session" in other.json()["error"]["message"]
    ok(step(api, results[0][1], "end"))
    again = start(api, content["id"], "u1")
    assert again["id"] != results[0][1]


def test_a_lock_left_behind_by_a_lost_session_does_not_block_the_user(api: ApiClient) -> None:
    from shared.store import dynamo, keys

    users(api, "u1")
    content = author(api)
    lost = start(api, content["id"], "u1")
    dynamo.client().delete_item(  # the session is gone, its lock is not
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.content_session(api.environment, lost["id"])),
    )
    fresh = start(api, content["id"], "u1")
    assert fresh["id"] != lost["id"] and fresh["status"] == "active"
    assert start(api, content["id"], "u1")["id"] == fresh["id"]  # and it holds the lock now


def test_the_three_lists_page_order_and_filter(api: ApiClient) -> None:
    users(api, "u1", "u2")
    flow, checklist = author(api), author(api, "checklist", "Checklist")
    made = [
        start(api, flow["id"], "u1"),
        start(api, checklist["id"], "u1"),
        start(api, flow["id"], "u2"),
        start(api, checklist["id"], "u2"),
    ]
    ids = [s["id"] for s in made]
    ok(step(api, ids[0], "progress", {"progress": 0.1}))  # the oldest is now the latest active

    def walk(*query: tuple[str, str]) -> list[str]:
        seen: list[str] = []
        page = ok(api.request("GET", "/content_sessions", query=[("limit", "1"), *query]))
        while True:
            seen.extend(s["id"] for s in page["data"])
            if not page["has_more"]:
                return seen
            page = ok(api.request("GET", page["next_page_url"]))

    assert walk() == ids
    assert walk(("order_by", "-created_at")) == ids[::-1]
    assert walk(("order_by", "last_activity_at")) == [ids[1], ids[2], ids[3], ids[0]]
    assert walk(("order_by", "-last_activity_at")) == [ids[0], ids[3], ids[2], ids[1]]
    assert walk(("content_id", flow["id"])) == [ids[0], ids[2]]
    assert walk(("user_id", "u1")) == [ids[0], ids[1]]
    assert walk(("user_id", "u2"), ("order_by", "-created_at")) == [ids[3], ids[2]]
    assert walk(("user_id", "u2"), ("content_id", checklist["id"])) == [ids[3]]
    assert walk(("content_id", flow["id"]), ("order_by", "-last_activity_at")) == [ids[0], ids[2]]
    assert walk(("order_by[]", "last_activity_at"), ("order_by[]", "created_at")) == walk(
        ("order_by", "last_activity_at")
    )
    assert walk(("user_id", "nobody")) == []

    expanded = ok(
        api.request(
            "GET",
            "/content_sessions",
            query=[("expand", "content"), ("expand", "version.tasks"), ("expand", "user")],
        )
    )
    assert [s["content"]["id"] for s in expanded["data"]] == [s["content_id"] for s in made]
    assert expanded["data"][1]["version"]["tasks"][0]["object"] == "checklist_task"
    assert [s["user"]["id"] for s in expanded["data"]] == ["u1", "u1", "u2", "u2"]

    for bad in (
        ("order_by", "progress"),
        ("starting_after", "x/y"),
        ("expand", "answers.question"),
        ("expand", "user.memberships.group.users.groups"),
    ):
        assert api.request("GET", "/content_sessions", query=[bad]).status == 400, bad
    two_orders = api.request(
        "GET",
        "/content_sessions",
        query=[("order_by[]", "last_activity_at"), ("order_by[]", "-created_at")],
    )
    assert two_orders.status == 400
    gone = api.request(
        "GET",
        "/content_sessions",
        query=[("order_by", "last_activity_at"), ("starting_after", "nope")],
    )
    assert gone.status == 400


Refusal = tuple[str, Any, int, str]


def refusals(questions: dict[str, dict[str, Any]]) -> list[Refusal]:
    nps, choice = questions["nps"]["cvid"], questions["multiple_choice"]["cvid"]
    return [
        ("progress", {"progress": 0.2}, 400, "progress never decreases"),
        ("progress", {"progress": 1.5}, 400, "from 0 to 1"),
        ("progress", {"progress": "lots"}, 400, "from 0 to 1"),
        ("progress", {}, 400, "Invalid `progress`: Field required"),
        ("progress", {"progress": 0.6, "step": 3}, 400, "unknown field"),
        ("answers", {"question_cvid": nps, "answer_value": 11}, 400, "from 0 to 10"),
        ("answers", {"question_cvid": choice, "answer_value": ["Pink"]}, 400, "not one of"),
        ("answers", {"question_cvid": "nope", "answer_value": 1}, 404, "no question with cvid"),
        ("tasks/nope/complete", None, 404, "no checklist task"),
        ("activate_launcher", None, 400, "only launcher sessions"),
        ("complete", {"now": True}, 400, "unknown field"),
    ]


@pytest.fixture(scope="module")
def survey_session(local_stack: Any) -> tuple[ApiClient, dict[str, Any], dict[str, Any]]:
    """One environment with an active session of a published survey (for property tests)."""
    from shared.store import tenancy

    environment = tenancy.create_environment("Sessions")
    _, plain_key = tenancy.create_api_key(environment.id)
    api = ApiClient(local_stack.url, plain_key, environment.id)
    users(api, "u1")
    content = author(api)
    questions = questions_of(api, content["published_version_id"])
    return api, start(api, content["id"], "u1"), questions


answers = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 14),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["Red", "Blue", "Green", "7", " ", "a\nb"]),
    st.lists(st.sampled_from(["Red", "Blue", "Green", "Pink", ""]), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    question_type=st.sampled_from(["nps", "stars", "text", "multiline_text", "multiple_choice"]),
    value=answers,
    progress=st.one_of(st.floats(-1, 2), st.text(max_size=6), st.integers(-1, 2)),
)
def test_any_answer_or_progress_is_recorded_or_refused_with_nothing_changed(
    survey_session: tuple[ApiClient, dict[str, Any], dict[str, Any]],
    question_type: str,
    value: Any,
    progress: Any,
) -> None:
    api, session, questions = survey_session
    path = f"/content_sessions/{session['id']}"
    for action, body in (
        ("answers", {"question_cvid": questions[question_type]["cvid"], "answer_value": value}),
        ("progress", {"progress": progress}),
    ):
        before = ok(api.request("GET", path, query=[("expand", "answers")]))
        response = step(api, session["id"], action, body)
        assert response.status in (200, 400), (action, body, response.text)
        after = ok(api.request("GET", path, query=[("expand", "answers")]))
        if response.status == 400:
            assert after == before, (action, body)
        else:
            assert after["last_activity_at"] >= before["last_activity_at"]


def test_invalid_steps_are_refused_and_change_nothing(api: ApiClient) -> None:
    users(api, "u1")
    content = author(api)
    questions = questions_of(api, content["published_version_id"])
    session = start(api, content["id"], "u1")
    ok(step(api, session["id"], "progress", {"progress": 0.5}))
    ok(
        step(
            api,
            session["id"],
            "answers",
            {"question_cvid": questions["nps"]["cvid"], "answer_value": 7},
        )
    )

    def snapshot() -> tuple[dict[str, Any], list[str]]:
        read = api.request(
            "GET", f"/content_sessions/{session['id']}", query=[("expand", "answers")]
        )
        return ok(read), events_named(api, "u1")

    before = snapshot()
    for action, body, status, message in refusals(questions):
        response = step(api, session["id"], action, body)
        assert response.status == status, (action, body, response.text)
        assert response.json()["error"]["code"] in {"invalid_request", "not_found"}
        assert message in response.json()["error"]["message"], (action, response.text)
        assert snapshot() == before, (action, body)

    assert step(api, "no-such-session", "progress", {"progress": 1}).status == 404
    assert step(api, "no-such-session", "end").status == 404
    assert api.request("GET", "/content_sessions/no-such-session").status == 404

    ok(step(api, session["id"], "end"))
    ended = snapshot()
    for action, body in (
        ("progress", {"progress": 0.9}),
        ("answers", {"question_cvid": questions["stars"]["cvid"], "answer_value": 5}),
        ("complete", None),
    ):
        response = step(api, session["id"], action, body)
        assert response.status == 400 and "is ended" in response.json()["error"]["message"]
        assert snapshot() == ended


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"content_id": "nope", "user_id": "u1"}, 404, "No content with id 'nope'"),
        ({"content_id": "{content}", "user_id": "nobody"}, 404, "No user with id 'nobody'"),
        ({"content_id": "{content}", "user_id": "u1", "group_id": "nogroup"}, 404, "No group"),
        ({"content_id": "{content}", "user_id": "u1", "is_preview": "yes"}, 400, "is_preview"),
        ({"content_id": "{content}"}, 400, "Invalid `user_id`: Field required"),
        ({"content_id": "{content}", "user_id": "a/b"}, 400, "Invalid `user_id`"),
    ],
)
def test_starts_that_are_refused_write_nothing(
    api: ApiClient, body: dict[str, Any], status: int, message: str
) -> None:
    users(api, "u1")
    content = author(api)
    sent = {
        k: v.format(content=content["id"]) if isinstance(v, str) else v for k, v in body.items()
    }
    response = api.request("POST", "/content_sessions", json=sent)
    assert response.status == status, response.text
    assert message in response.json()["error"]["message"]
    assert ok(api.request("GET", "/content_sessions"))["data"] == []
    assert events_named(api, "u1") == []


def test_deleting_a_session_is_idempotent_and_frees_the_user_to_start_again(
    api: ApiClient,
) -> None:
    users(api, "u1")
    content = author(api)
    nps = questions_of(api, content["published_version_id"])["nps"]
    session = start(api, content["id"], "u1")
    ok(step(api, session["id"], "answers", {"question_cvid": nps["cvid"], "answer_value": 1}))
    for _ in range(2):
        deleted = ok(api.request("DELETE", f"/content_sessions/{session['id']}"))
        assert deleted == {"id": session["id"], "object": "content_session", "deleted": True}
    assert api.request("GET", f"/content_sessions/{session['id']}").status == 404
    assert ok(api.request("GET", "/content_sessions", query=[("user_id", "u1")]))["data"] == []
    assert start(api, content["id"], "u1")["id"] != session["id"]


def test_deleting_a_user_deletes_its_flow_history(
    api: ApiClient, wait_for_streams: Callable[[], None]
) -> None:
    users(api, "u1", "u2")
    flow, checklist = author(api), author(api, "checklist", "Checklist")
    nps = questions_of(api, flow["published_version_id"])["nps"]
    mine = [start(api, flow["id"], "u1"), start(api, checklist["id"], "u1")]
    ok(step(api, mine[0]["id"], "answers", {"question_cvid": nps["cvid"], "answer_value": 10}))
    ok(step(api, mine[0]["id"], "complete"))
    theirs = start(api, flow["id"], "u2")

    ok(api.request("DELETE", "/users/u1"))
    # The same id made again starts at once: the old locks went with the delete.
    users(api, "u1")
    fresh = start(api, checklist["id"], "u1")
    assert fresh["id"] != mine[1]["id"]
    wait_for_streams()

    for session in mine:
        assert api.request("GET", f"/content_sessions/{session['id']}").status == 404
    listed = ok(api.request("GET", "/content_sessions"))
    assert [s["id"] for s in listed["data"]] == [theirs["id"], fresh["id"]]
    by_activity = ok(
        api.request("GET", "/content_sessions", query=[("order_by", "last_activity_at")])
    )
    assert {s["id"] for s in by_activity["data"]} == {theirs["id"], fresh["id"]}
    assert [
        s["id"]
        for s in ok(api.request("GET", "/content_sessions", query=[("user_id", "u1")]))["data"]
    ] == [fresh["id"]]


def test_deleting_a_group_keeps_its_sessions_with_their_group_id(api: ApiClient) -> None:
    users(api, "u1", group="acme")
    content = author(api)
    session = start(api, content["id"], "u1", group_id="acme")
    ok(api.request("DELETE", "/groups/acme"))
    read = ok(api.request("GET", f"/content_sessions/{session['id']}", query=[("expand", "group")]))
    assert (read["group_id"], read["group"]) == ("acme", None)
    assert ok(step(api, session["id"], "end"))["status"] == "ended"
    refused = api.request(
        "POST",
        "/content_sessions",
        json={"content_id": content["id"], "user_id": "u1", "group_id": "acme"},
    )
    assert refused.status == 404


def test_built_in_events_reach_subscribers_signed_and_are_listed(
    api: ApiClient, receiver: Receiver
) -> None:
    users(api, "u1")
    content = author(api)
    subscription = ok(
        api.request(
            "POST",
            "/webhook_subscriptions",
            json={"url": receiver.url, "topics": ["event.tracked"]},
        )
    )
    nps = questions_of(api, content["published_version_id"])["nps"]
    session = start(api, content["id"], "u1")
    ok(step(api, session["id"], "answers", {"question_cvid": nps["cvid"], "answer_value": 9}))
    ok(step(api, session["id"], "complete"))

    got = receiver.wait_for(lambda got: len(got) >= 3)
    by_topic = {r.json()["topic"]: r for r in got}
    assert set(by_topic) == {f"event.tracked.{name}" for name in BUILT_IN}
    for request in got:
        verify_userflow_signature(
            request.body, request.headers["Userflow-Signature"], subscription["secret"]
        )
        event = request.json()["data"]["object"]
        assert (event["object"], event["user_id"]) == ("event", "u1")
        assert event["attributes"]["content_id"] == content["id"]
        assert event["attributes"]["content_version_id"] == content["published_version_id"]
        assert event["attributes"]["content_session_id"] == session["id"]
    answered = by_topic["event.tracked.question_answered"].json()["data"]["object"]["attributes"]
    assert (answered["question_cvid"], answered["answer_type"], answered["answer_value"]) == (
        nps["cvid"],
        "number",
        "9",
    )

    listed = ok(api.request("GET", "/events", query=[("name", "question_answered")]))
    assert [e["attributes"]["content_session_id"] for e in listed["data"]] == [session["id"]]
    definitions = ok(
        api.request(
            "GET",
            "/attribute_definitions",
            query=[("event_name", "flow_started"), ("limit", "100")],
        )
    )
    types = {d["name"]: d["data_type"] for d in definitions["data"]}
    assert types == {
        "content_id": "content",
        "content_version_id": "content_version",
        "content_session_id": "content_session",
        "content_type": "string",
    }
    names = {
        d["name"]
        for d in ok(api.request("GET", "/event_definitions", query=[("limit", "100")]))["data"]
    }
    assert set(BUILT_IN) <= names


def test_sessions_stay_in_their_environment(api: ApiClient, other_api: ApiClient) -> None:
    users(api, "u1")
    content = author(api)
    session = start(api, content["id"], "u1")
    assert other_api.request("GET", f"/content_sessions/{session['id']}").status == 404
    assert step(other_api, session["id"], "end").status == 404
    assert ok(other_api.request("GET", "/content_sessions"))["data"] == []
    ok(other_api.request("POST", "/users", json={"id": "u1"}))
    refused = other_api.request(
        "POST", "/content_sessions", json={"content_id": content["id"], "user_id": "u1"}
    )
    assert refused.status == 404
    assert ok(other_api.request("DELETE", f"/content_sessions/{session['id']}"))["deleted"] is True
    assert ok(api.request("GET", f"/content_sessions/{session['id']}"))["status"] == "active"
