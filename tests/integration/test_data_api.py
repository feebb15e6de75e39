"""Groups, memberships, events, definitions, conditions and segments through HTTP on the local
stack (DynamoDB Local), with the request forms the reference documents."""

from __future__ import annotations

import json

from tests.integration.conftest import ApiClient

REFERENCE_CONDITION = {
    "type": "clause",
    "operator": "and",
    "conditions": [
        {"type": "attribute", "attribute_name": "plan", "operator": "eq", "value": "Pro"},
        {"type": "attribute", "attribute_name": "widget_count", "operator": "gte", "value": 10},
    ],
}


def test_user_with_groups_and_membership_expansions(api: ApiClient) -> None:
    response = api.request(
        "POST",
        "/users",
        json={
            "id": "u1",
            "attributes": {"name": "Ada"},
            "memberships": [
                {
                    "attributes": {"role": "admin"},
                    "group": {"id": "acme", "attributes": {"plan": "Pro"}},
                }
            ],
        },
    )
    assert response.status == 200
    user = api.request("GET", "/users/u1", query=[("expand", "memberships.group")]).json()
    [membership] = user["memberships"]
    assert membership["object"] == "group_membership"
    assert (membership["user_id"], membership["group_id"]) == ("u1", "acme")
    assert membership["attributes"] == {"role": "admin"}
    assert membership["group"]["attributes"] == {"plan": "Pro"}

    group = api.request("GET", "/groups/acme", query=[("expand[]", "memberships.user")]).json()
    assert group["object"] == "group"
    assert [m["user"]["attributes"]["name"] for m in group["memberships"]] == ["Ada"]

    for _ in range(2):  # idempotent
        deleted = api.request(
            "DELETE", "/group_memberships", query=[("user_id", "u1"), ("group_id", "acme")]
        )
        assert deleted.status == 200 and deleted.json()["deleted"] is True
    assert (
        api.request("GET", "/users/u1", query=[("expand", "memberships")]).json()["memberships"]
        == []
    )


def test_group_upsert_list_filters_and_delete(api: ApiClient) -> None:
    for group_id, plan in (("g1", "Pro"), ("g2", "Free"), ("g3", "Pro")):
        assert (
            api.request(
                "POST", "/groups", json={"id": group_id, "attributes": {"plan": plan}}
            ).status
            == 200
        )
    api.request("POST", "/users", json={"id": "u1", "groups": [{"id": "g2"}, {"id": "g3"}]})
    condition = json.dumps(
        {"type": "attribute", "attribute_name": "plan", "operator": "eq", "value": "Pro"}
    )
    pro = api.request("GET", "/groups", query=[("condition", condition)]).json()
    assert [g["id"] for g in pro["data"]] == ["g1", "g3"]
    of_user = api.request("GET", "/groups", query=[("user_id", "u1")]).json()
    assert sorted(g["id"] for g in of_user["data"]) == ["g2", "g3"]
    newest = api.request("GET", "/groups", query=[("order_by", "-created_at"), ("limit", "1")])
    assert [g["id"] for g in newest.json()["data"]] == ["g3"]
    assert newest.json()["has_more"] is True
    assert api.request("DELETE", "/groups/g3").json() == {
        "id": "g3",
        "object": "group",
        "deleted": True,
    }
    assert api.request("DELETE", "/groups/g3").status == 200
    assert [
        g["id"] for g in api.request("GET", "/groups", query=[("user_id", "u1")]).json()["data"]
    ] == ["g2"]


def test_events_are_listed_newest_first_page_by_page(api: ApiClient) -> None:
    api.request("POST", "/users", json={"id": "u1"})
    names = [f"step_{i}" for i in range(7)]
    for name in names:
        tracked = api.request(
            "POST", "/events", json={"user_id": "u1", "group_id": "acme", "name": name}
        )
        assert tracked.status == 200 and tracked.json()["object"] == "event"
    api.request("POST", "/events", json={"user_id": "u2", "name": "other"})

    for filters in ([], [("user_id", "u1")], [("group_id", "acme")]):
        seen: list[str] = []
        query = [*filters, ("limit", "3")]
        while True:
            page = api.request("GET", "/events", query=query).json()
            seen.extend(e["name"] for e in page["data"])
            if not page["has_more"]:
                break
            assert page["next_page_url"]
            query = [*filters, ("limit", "3"), ("starting_after", page["data"][-1]["id"])]
        expected = list(reversed(names))
        assert seen == (["other", *expected] if not filters else expected), filters


def test_definitions_follow_what_was_written(api: ApiClient) -> None:
    api.request(
        "POST",
        "/users",
        json={
            "id": "u1",
            "attributes": {
                "plan": "Pro",
                "widget_count": 3,
                "signed_up_at": "2024-01-02T03:04:05Z",
            },
        },
    )
    api.request(
        "POST",
        "/events",
        json={"user_id": "u1", "name": "widget_created", "attributes": {"size": 2}},
    )
    attributes = api.request(
        "GET", "/attribute_definitions", query=[("scope", "user"), ("limit", "100")]
    ).json()
    types = {d["name"]: d["data_type"] for d in attributes["data"]}
    assert types == {"plan": "string", "signed_up_at": "datetime", "widget_count": "number"}
    events = api.request("GET", "/event_definitions").json()
    assert [d["name"] for d in events["data"]] == ["widget_created"]
    event_attributes = api.request(
        "GET",
        "/attribute_definitions",
        query=[("scope", "event"), ("event_name", "widget_created")],
    ).json()
    assert [d["name"] for d in event_attributes["data"]] == ["size"]


def test_reference_condition_and_segments(api: ApiClient) -> None:
    for user_id, plan, count in (("a", "Pro", 12), ("b", "Pro", 3), ("c", "Free", 40)):
        api.request(
            "POST",
            "/users",
            json={"id": user_id, "attributes": {"plan": plan, "widget_count": count}},
        )
    matched = api.request("GET", "/users", query=[("condition", json.dumps(REFERENCE_CONDITION))])
    assert [u["id"] for u in matched.json()["data"]] == ["a"]

    segment = api.request(
        "POST", "/segments", json={"name": "Power users", "condition": REFERENCE_CONDITION}
    ).json()
    assert segment["object"] == "segment"
    in_segment = api.request("GET", "/users", query=[("segment_id", segment["id"])]).json()
    assert [u["id"] for u in in_segment["data"]] == ["a"]
    widened = {**REFERENCE_CONDITION, "operator": "or"}
    api.request("PATCH", f"/segments/{segment['id']}", json={"condition": widened})
    in_segment = api.request(
        "GET", "/users", query=[("segment_id", segment["id"]), ("order_by", "-created_at")]
    ).json()
    assert [u["id"] for u in in_segment["data"]] == ["c", "b", "a"]
    assert api.request("DELETE", f"/segments/{segment['id']}").status == 200
    missing = api.request("GET", "/users", query=[("segment_id", segment["id"])])
    assert missing.status == 400 and "segment_id" in missing.json()["error"]["message"]
