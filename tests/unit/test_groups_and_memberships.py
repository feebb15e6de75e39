"""Groups, memberships through user upserts, expansions and cascading deletes (moto)."""

from __future__ import annotations

from typing import cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.cascade.handler import lambda_handler as cascade_handler
from functions.groups.handler import lambda_handler as groups_handler
from functions.users.handler import lambda_handler as users_handler
from shared.services import deletion
from shared.store import dynamo, keys
from shared.store.purges import PurgeJob
from tests.unit.conftest import Invoke


@pytest.fixture
def users(environment: str) -> Invoke:
    return Invoke(users_handler, environment)


@pytest.fixture
def groups(environment: str) -> Invoke:
    return Invoke(groups_handler, environment)


def test_group_upsert_get_and_spec_shape(groups: Invoke) -> None:
    status, body = groups(
        "POST",
        "/groups",
        body={"id": "acme", "attributes": {"name": "Acme Inc.", "billing_plan": "plus"}},
    )
    assert status == 200
    assert body == {
        "id": "acme",
        "object": "group",
        "attributes": {"billing_plan": "plus", "name": "Acme Inc."},
        "created_at": body["created_at"],
        "memberships": None,
        "users": None,
    }
    assert groups("GET", "/groups/acme")[1] == body
    assert groups("GET", "/groups/nope")[0] == 404


def test_user_upsert_with_groups_creates_groups_and_memberships(
    users: Invoke, groups: Invoke
) -> None:
    status, user = users(
        "POST",
        "/users",
        query="expand=memberships.group",
        body={
            "id": "u1",
            "attributes": {"name": "Evelyn"},
            "groups": [{"id": "acme", "attributes": {"name": "Acme Inc.", "billing_plan": "plus"}}],
        },
    )
    assert status == 200
    [membership] = user["memberships"]
    assert membership["object"] == "group_membership"
    assert membership["user_id"] == "u1" and membership["group_id"] == "acme"
    assert membership["attributes"] == {}
    assert membership["user"] is None
    assert membership["group"]["attributes"] == {"billing_plan": "plus", "name": "Acme Inc."}
    _, group = groups("GET", "/groups/acme", query="expand[]=memberships.user&expand[]=users")
    assert [m["user"]["id"] for m in group["memberships"]] == ["u1"]
    assert [u["id"] for u in group["users"]] == ["u1"]


def test_user_upsert_with_memberships_sets_membership_attributes(users: Invoke) -> None:
    users(
        "POST",
        "/users",
        body={
            "id": "u1",
            "memberships": [{"attributes": {"role": "admin"}, "group": {"id": "acme"}}],
        },
    )
    users(
        "POST",
        "/users",
        body={
            "id": "u1",
            "memberships": [{"attributes": {"logins": {"add": 2}}, "group": {"id": "acme"}}],
        },
    )
    _, user = users("GET", "/users/u1", query="expand=memberships")
    [membership] = user["memberships"]
    assert membership["attributes"] == {"logins": 2, "role": "admin"}
    first_id = membership["id"]
    _, again = users("GET", "/users/u1", query="expand=memberships")
    assert again["memberships"][0]["id"] == first_id  # the generated id is stable


def test_prune_memberships_removes_unlisted_groups_but_keeps_them(
    users: Invoke, groups: Invoke
) -> None:
    users("POST", "/users", body={"id": "u1", "groups": [{"id": "a"}, {"id": "b"}]})
    users("POST", "/users", body={"id": "u1", "groups": [{"id": "b"}], "prune_memberships": True})
    _, user = users("GET", "/users/u1", query="expand=groups")
    assert [g["id"] for g in user["groups"]] == ["b"]
    assert groups("GET", "/groups/a")[0] == 200


def test_groups_and_memberships_together_is_a_400(users: Invoke) -> None:
    status, body = users(
        "POST",
        "/users",
        body={"id": "u1", "groups": [{"id": "a"}], "memberships": [{"group": {"id": "b"}}]},
    )
    assert status == 400
    assert "only one of `groups` and `memberships`" in body["error"]["message"]


def test_delete_membership_is_idempotent(users: Invoke, groups: Invoke) -> None:
    users("POST", "/users", body={"id": "u1", "groups": [{"id": "a"}]})
    status, body = groups("DELETE", "/group_memberships", query="user_id=u1&group_id=a")
    assert status == 200
    assert body["object"] == "group_membership" and body["deleted"] is True
    assert body["id"]
    status, body = groups("DELETE", "/group_memberships", query="user_id=u1&group_id=a")
    assert (status, body["deleted"]) == (200, True)
    _, user = users("GET", "/users/u1", query="expand=memberships")
    assert user["memberships"] == []
    status, body = groups("DELETE", "/group_memberships", query="user_id=u1")
    assert status == 400 and "group_id" in body["error"]["message"]


def test_list_groups_by_user_and_order_by_name(users: Invoke, groups: Invoke) -> None:
    for group_id, name in [("g1", "Zeta"), ("g2", "alpha"), ("g3", "Mid")]:
        groups("POST", "/groups", body={"id": group_id, "attributes": {"name": name}})
    users("POST", "/users", body={"id": "u1", "groups": [{"id": "g1"}, {"id": "g3"}]})
    _, page = groups("GET", "/groups", query="order_by=attributes.name")
    assert [g["id"] for g in page["data"]] == ["g2", "g3", "g1"]
    _, page = groups("GET", "/groups", query="user_id=u1&order_by=-attributes.name")
    assert [g["id"] for g in page["data"]] == ["g1", "g3"]


def test_deleting_a_user_removes_memberships_now_and_events_by_purge(
    users: Invoke, groups: Invoke, environment: str, table: str
) -> None:
    from functions.events.handler import lambda_handler as events_handler

    events = Invoke(events_handler, environment)
    users("POST", "/users", body={"id": "u1", "groups": [{"id": "a"}]})
    events("POST", "/events", body={"user_id": "u1", "name": "signed_in"})
    users("DELETE", "/users/u1")
    _, group = groups("GET", "/groups/a", query="expand=memberships")
    assert group["memberships"] == []
    jobs = dynamo.client().query(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.purge_jobs(environment)}},
    )["Items"]
    [job] = [deletion.purge_job_from_image(dynamo.from_item(i)) for i in jobs]
    assert job is not None and (job.kind, job.object_id) == ("user", "u1")
    assert events("GET", "/events", query="user_id=u1")[1]["data"] != []
    # The stream delivers the job's INSERT to the cascade function, as Lambda would.
    stream_event = {
        "Records": [
            {
                "eventID": "1",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "Keys": {"PK": jobs[0]["PK"], "SK": jobs[0]["SK"]},
                    "NewImage": jobs[0],
                    "SequenceNumber": "1",
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
        ]
    }
    # The local stack's stream poller passes no context (no deadline), as here.
    no_context = cast(LambdaContext, None)
    assert cascade_handler(stream_event, no_context) == {"batchItemFailures": []}
    assert events("GET", "/events", query="user_id=u1")[1]["data"] == []
    assert groups("GET", "/groups/a")[0] == 200


def test_purge_spares_what_was_created_after_the_delete(users: Invoke, environment: str) -> None:
    from functions.events.handler import lambda_handler as events_handler

    events = Invoke(events_handler, environment)
    users("POST", "/users", body={"id": "u1"})
    events("POST", "/events", body={"user_id": "u1", "name": "old"})
    users("DELETE", "/users/u1")
    job = PurgeJob(environment, "user", "u1", "2000-01-01T00:00:00.000+00:00")
    assert deletion.run_purge(job) == deletion.PurgeProgress(removed=0, finished=True)
    assert len(events("GET", "/events", query="user_id=u1")[1]["data"]) == 1


def test_a_purge_out_of_time_stops_and_is_continued_by_a_new_job(
    users: Invoke, environment: str, table: str
) -> None:
    from functions.events.handler import lambda_handler as events_handler

    events = Invoke(events_handler, environment)
    users("POST", "/users", body={"id": "u1"})
    for name in ("a", "b", "c"):
        events("POST", "/events", body={"user_id": "u1", "name": name})
    users("DELETE", "/users/u1")
    job = PurgeJob(environment, "user", "u1", "2999-01-01T00:00:00.000+00:00")
    assert deletion.run_purge(job, time_left=lambda: 0.0) == deletion.PurgeProgress(0, False)
    assert len(events("GET", "/events", query="user_id=u1")[1]["data"]) == 3

    deletion.continue_purge(job)
    jobs = dynamo.client().query(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.purge_jobs(environment)}},
    )["Items"]
    continued = [deletion.purge_job_from_image(dynamo.from_item(i)) for i in jobs]
    assert job in continued  # same object, same cut-off time
    assert deletion.run_purge(job) == deletion.PurgeProgress(removed=3, finished=True)
    assert events("GET", "/events", query="user_id=u1")[1]["data"] == []


def test_expanding_a_page_reads_in_batches_not_one_call_per_record(
    users: Invoke, dynamodb_calls: list[str]
) -> None:
    for i in range(20):
        users("POST", "/users", body={"id": f"u{i:02d}", "groups": [{"id": f"g{i % 3}"}]})
    dynamodb_calls.clear()
    status, page = users("GET", "/users", query="limit=20&expand=memberships.group")
    assert status == 200
    assert {m["group"]["id"] for u in page["data"] for m in u["memberships"]} == {"g0", "g1", "g2"}
    # The page, one Query per user's memberships (run side by side), one BatchGetItem of groups.
    assert dynamodb_calls.count("BatchGetItem") == 1
    assert dynamodb_calls.count("Query") == 1 + 20


def test_expanding_more_members_than_the_budget_is_a_400_that_says_where_to_look(
    users: Invoke, groups: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.services import expansion

    monkeypatch.setattr(expansion, "EXPAND_PER_OBJECT_BUDGET", 2)
    for i in range(3):
        users("POST", "/users", body={"id": f"u{i}", "groups": [{"id": "crowd"}]})
    status, body = groups("GET", "/groups/crowd", query="expand=users")
    assert status == 400
    assert "`expand`" in body["error"]["message"]
    assert "/users?group_id=" in body["error"]["message"]
    monkeypatch.setattr(expansion, "EXPAND_PER_OBJECT_BUDGET", 3)
    status, body = groups("GET", "/groups/crowd", query="expand=users")
    assert status == 200 and len(body["users"]) == 3


def test_groups_can_be_filtered_by_a_segment(groups: Invoke, environment: str) -> None:
    from functions.segments.handler import lambda_handler as segments_handler

    groups("POST", "/groups", body={"id": "acme", "attributes": {"plan": "Pro"}})
    groups("POST", "/groups", body={"id": "initech", "attributes": {"plan": "Free"}})
    pro = {"type": "attribute", "attribute_name": "group/plan", "operator": "eq", "value": "Pro"}
    _, segment = Invoke(segments_handler, environment)(
        "POST", "/segments", body={"name": "Pro", "condition": pro}
    )
    _, page = groups("GET", "/groups", query=f"segment_id={segment['id']}")
    assert [g["id"] for g in page["data"]] == ["acme"]


def test_a_refused_membership_leaves_the_user_and_its_groups_unwritten(
    users: Invoke, groups: Invoke
) -> None:
    status, body = users(
        "POST",
        "/users",
        body={
            "id": "u1",
            "groups": [
                {"id": "fine", "attributes": {"plan": "x"}},
                {"id": "bad", "attributes": {"n": {"set": "1e200", "data_type": "number"}}},
            ],
        },
    )
    assert status == 400 and "groups[1].attributes.n" in body["error"]["message"]
    assert users("GET", "/users/u1")[0] == 404
    assert groups("GET", "/groups/fine")[0] == 404


def test_a_group_over_the_size_limit_is_refused_before_any_write(
    users: Invoke, groups: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.domain import limits

    groups("POST", "/groups", body={"id": "heavy", "attributes": {"blob": "x" * 30_000}})
    monkeypatch.setattr(limits, "MAX_OBJECT_BYTES", 40_000)
    status, body = users(
        "POST",
        "/users",
        body={
            "id": "u1",
            "groups": [{"id": "light"}, {"id": "heavy", "attributes": {"more": "y" * 20_000}}],
        },
    )
    assert status == 400 and "groups[1].attributes" in body["error"]["message"]
    assert users("GET", "/users/u1")[0] == 404
    assert groups("GET", "/groups/light")[0] == 404
    assert "more" not in groups("GET", "/groups/heavy")[1]["attributes"]
