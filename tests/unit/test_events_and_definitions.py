"""Tracking events and the definitions they and attribute writes create (moto)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.definitions.handler import lambda_handler as definitions_handler
from functions.events.handler import lambda_handler as events_handler
from functions.users.handler import lambda_handler as users_handler
from shared.store import definitions
from tests.unit.conftest import Invoke


@pytest.fixture(autouse=True)
def _fresh_definition_cache() -> None:
    definitions.forget_written()


@pytest.fixture
def events(environment: str) -> Invoke:
    return Invoke(events_handler, environment)


@pytest.fixture
def defs(environment: str) -> Invoke:
    return Invoke(definitions_handler, environment)


def test_track_event_returns_the_spec_shape(events: Invoke) -> None:
    status, body = events(
        "POST",
        "/events",
        body={
            "user_id": "c2df",
            "name": "subscription_activated",
            "attributes": {"plan_name": "plus", "plan_price": 199},
        },
    )
    assert status == 200
    assert set(body) == {
        "id",
        "object",
        "attributes",
        "created_at",
        "group",
        "group_id",
        "name",
        "time",
        "user",
        "user_id",
    }
    assert body["object"] == "event"
    assert body["attributes"] == {"plan_name": "plus", "plan_price": 199}
    assert (body["user_id"], body["group_id"], body["user"], body["group"]) == (
        "c2df",
        None,
        None,
        None,
    )
    assert body["time"] == body["created_at"]


def test_track_with_explicit_time_and_group_only(events: Invoke) -> None:
    _, body = events(
        "POST",
        "/events",
        body={"group_id": "acme", "name": "invoice_paid", "time": "2022-11-29T13:34:56+01:00"},
    )
    assert body["time"] == "2022-11-29T12:34:56.000+00:00"
    assert body["group_id"] == "acme" and body["user_id"] is None


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": "x"}, "user_id"),
        ({"user_id": "u1"}, "name"),
        ({"user_id": "u1", "name": "bad.name"}, "event name"),
        ({"user_id": "u1", "name": "x", "time": "yesterday"}, "time"),
        ({"user_id": "u1", "name": "x", "attributes": {"n": {"add": 1}}}, "attributes.n"),
        ({"user_id": "u1", "name": "x", "attributes": {"a.b": 1}}, "a.b"),
    ],
)
def test_invalid_events_are_400s(events: Invoke, body: dict[str, Any], named: str) -> None:
    status, response = events("POST", "/events", body=body)
    assert status == 400
    assert named in response["error"]["message"]


def test_list_events_newest_first_with_filters_and_pages(events: Invoke) -> None:
    events("POST", "/events", body={"user_id": "u1", "name": "a"})
    events("POST", "/events", body={"user_id": "u2", "group_id": "g", "name": "b"})
    events("POST", "/events", body={"user_id": "u1", "group_id": "g", "name": "c"})
    events("POST", "/events", body={"group_id": "g", "name": "a"})
    _, page = events("GET", "/events")
    assert [e["name"] for e in page["data"]] == ["a", "c", "b", "a"]
    _, page = events("GET", "/events", query="user_id=u1")
    assert [e["name"] for e in page["data"]] == ["c", "a"]
    _, page = events("GET", "/events", query="group_id=g")
    assert [e["name"] for e in page["data"]] == ["a", "c", "b"]
    _, page = events("GET", "/events", query="name=a")
    assert [e["group_id"] for e in page["data"]] == ["g", None]
    _, first = events("GET", "/events", query="limit=2")
    assert first["has_more"] is True
    _, second = events("GET", "/events", query=f"limit=2&starting_after={first['data'][-1]['id']}")
    assert [e["name"] for e in second["data"]] == ["b", "a"]
    assert second["has_more"] is False


def test_definitions_are_created_with_inferred_types(
    environment: str, events: Invoke, defs: Invoke
) -> None:
    users = Invoke(users_handler, environment)
    users(
        "POST",
        "/users",
        body={
            "id": "u1",
            "attributes": {
                "signed_up_at": "2022-09-29T12:34:56Z",
                "project_count": 17,
                "email_verified": True,
                "foods": ["apple"],
                "name": "Annabelle",
            },
            "memberships": [
                {
                    "attributes": {"role": "admin"},
                    "group": {"id": "g1", "attributes": {"plan": "plus"}},
                }
            ],
        },
    )
    events(
        "POST",
        "/events",
        body={"user_id": "u1", "name": "flow_started", "attributes": {"flow_id": "f1"}},
    )
    _, page = defs("GET", "/attribute_definitions", query="limit=100&order_by=name")
    found = {(d["scope"], d["name"]): d["data_type"] for d in page["data"]}
    assert found == {
        ("user", "signed_up_at"): "datetime",
        ("user", "project_count"): "number",
        ("user", "email_verified"): "boolean",
        ("user", "foods"): "list",
        ("user", "name"): "string",
        ("group", "plan"): "string",
        ("group_membership", "role"): "string",
        ("event", "flow_id"): "string",
    }
    signed_up = next(d for d in page["data"] if d["name"] == "signed_up_at")
    assert set(signed_up) == {
        "id",
        "object",
        "created_at",
        "data_type",
        "description",
        "display_name",
        "name",
        "scope",
    }
    assert signed_up["display_name"] == "Signed Up At"
    _, page = defs("GET", "/attribute_definitions", query="scope=group")
    assert [d["name"] for d in page["data"]] == ["plan"]
    _, page = defs("GET", "/attribute_definitions", query="event_name[]=flow_started")
    assert [d["name"] for d in page["data"]] == ["flow_id"]
    _, page = defs("GET", "/event_definitions")
    assert [(d["object"], d["name"], d["display_name"]) for d in page["data"]] == [
        ("event_definition", "flow_started", "Flow Started")
    ]
    status, body = defs("GET", "/attribute_definitions", query="scope=planet")
    assert status == 400 and "scope" in body["error"]["message"]


def test_a_warm_container_writes_a_definition_once(environment: str) -> None:
    assert definitions.record_attributes(environment, "user", {"plan": "string"}) == 1
    assert definitions.record_attributes(environment, "user", {"plan": "string"}) == 0
    assert definitions.record_event(environment, "x") == 1
    assert definitions.record_event(environment, "x") == 0


def test_events_by_name_are_one_query_per_shard_however_many_other_events_there_are(
    environment: str, events: Invoke, dynamodb_calls: list[str]
) -> None:
    from shared.store import dynamo, keys
    from shared.store import events as event_store

    event_store.track(
        environment, name="rare", user_id="u", group_id=None, attributes={}, time=None
    )
    items = [
        event_store.new_event(
            environment, name="common", user_id="u", group_id=None, attributes={}, time=None
        )[1]
        for _ in range(600)
    ]
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": dynamo.to_item(i)}} for i in items[start : start + 25]]
        dynamo.client().batch_write_item(RequestItems={dynamo.table_name(): batch})
    dynamodb_calls.clear()
    status, page = events("GET", "/events", query="name=rare&limit=1")
    assert (status, [e["name"] for e in page["data"]], page["has_more"]) == (200, ["rare"], False)
    # Each shard of the name's key, and the unsharded key of events from before the shards.
    assert dynamodb_calls == ["Query"] * (keys.EVENT_SHARDS + 1)
    assert keys.events_by_name_listing(environment, "rare").endswith("#EVENTS#rare")


def test_a_second_event_filter_reads_within_its_budget_and_continues_with_a_cursor(
    events: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.domain import limits

    monkeypatch.setattr(limits, "FILTER_EXAMINE_BUDGET", 3)
    events("POST", "/events", body={"user_id": "u1", "name": "rare"})
    for _ in range(6):
        events("POST", "/events", body={"user_id": "u1", "name": "common"})
    _, page = events("GET", "/events", query="user_id=u1&name=rare&limit=1")
    assert page["data"] == [] and page["has_more"] is True  # three newest examined, no match
    _, page = events("GET", "/events", query=f"{page['next_page_url'].split('?')[1]}")
    assert page["data"] == [] and page["has_more"] is True
    _, page = events("GET", "/events", query=f"{page['next_page_url'].split('?')[1]}")
    assert [e["name"] for e in page["data"]] == ["rare"] and page["has_more"] is False


def test_a_failing_definition_write_never_fails_a_stored_event(
    events: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> int:
        raise RuntimeError("definitions unavailable")

    monkeypatch.setattr(definitions, "record_attributes", broken)
    monkeypatch.setattr(definitions, "record_event", broken)
    status, body = events(
        "POST", "/events", body={"user_id": "u", "name": "x", "attributes": {"a": 1}}
    )
    assert status == 200
    _, page = events("GET", "/events")
    assert [e["id"] for e in page["data"]] == [body["id"]]


def test_event_names_of_an_attribute_are_items_of_their_own(
    environment: str, events: Invoke, defs: Invoke
) -> None:
    from shared.store import dynamo, keys

    for name in ("signed_up", "logged_in"):
        events("POST", "/events", body={"user_id": "u", "name": name, "attributes": {"plan": "x"}})
    definition = dynamo.client().get_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.attribute_definition(environment, "event", "plan")),
    )["Item"]
    assert "event_names" not in definition
    _, page = defs("GET", "/attribute_definitions", query="event_name=logged_in")
    assert [d["name"] for d in page["data"]] == ["plan"]
    # Definitions written before kept a set of event names on the item: still honoured.
    dynamo.client().update_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.attribute_definition(environment, "event", "plan")),
        UpdateExpression="ADD event_names :n",
        ExpressionAttributeValues={":n": {"SS": ["legacy_event"]}},
    )
    _, page = defs("GET", "/attribute_definitions", query="event_name[]=legacy_event")
    assert [d["name"] for d in page["data"]] == ["plan"]
