"""The users function through its handler, on moto."""

from __future__ import annotations

from typing import Any

import pytest

from functions.users.handler import lambda_handler
from tests.unit.conftest import Invoke


@pytest.fixture
def call(environment: str) -> Invoke:
    return Invoke(lambda_handler, environment)


def test_given_new_user_when_upserted_then_returns_user_object(call: Invoke) -> None:
    status, body = call(
        "POST",
        "/users",
        body={"id": "u1", "attributes": {"name": "Evelyn", "signed_up_at": "2022-09-29T12:34:56Z"}},
    )
    assert status == 200
    assert body["id"] == "u1"
    assert body["object"] == "user"
    assert body["attributes"] == {"name": "Evelyn", "signed_up_at": "2022-09-29T12:34:56.000+00:00"}
    assert body["groups"] is None and body["memberships"] is None


def test_upsert_merges_attributes_and_keeps_created_at(call: Invoke) -> None:
    _, first = call("POST", "/users", body={"id": "u1", "attributes": {"a": 1, "b": "x"}})
    _, second = call("POST", "/users", body={"id": "u1", "attributes": {"b": "y", "c": True}})
    assert second["attributes"] == {"a": 1, "b": "y", "c": True}
    assert second["created_at"] == first["created_at"]


def test_upsert_applies_every_operation(call: Invoke) -> None:
    call(
        "POST",
        "/users",
        body={
            "id": "u1",
            "attributes": {"count": 5, "coupon": "first", "foods": ["apple"], "gone": "soon"},
        },
    )
    status, body = call(
        "POST",
        "/users",
        body={
            "id": "u1",
            "attributes": {
                "count": {"add": 3},
                "days_left": {"subtract": 2},
                "coupon": {"set_once": "second"},
                "fresh": {"set_once": "only"},
                "foods": {"append": ["banana", "apple"]},
                "tags": {"prepend": "vip"},
                "phone": {"set": 12345678, "data_type": "string"},
                "gone": None,
            },
        },
    )
    assert status == 200
    assert body["attributes"] == {
        "count": 8,
        "days_left": -2,
        "coupon": "first",
        "fresh": "only",
        "foods": ["apple", "banana"],
        "tags": ["vip"],
        "phone": "12345678",
    }
    _, after_remove = call(
        "POST", "/users", body={"id": "u1", "attributes": {"foods": {"remove": ["apple"]}}}
    )
    assert after_remove["attributes"]["foods"] == ["banana"]


def test_add_to_a_string_attribute_is_a_400(call: Invoke) -> None:
    call("POST", "/users", body={"id": "u1", "attributes": {"plan": "pro"}})
    status, body = call("POST", "/users", body={"id": "u1", "attributes": {"plan": {"add": 1}}})
    assert status == 400
    assert body["error"]["code"] == "invalid_request"


def test_numeric_ids_are_accepted_as_strings(call: Invoke) -> None:
    status, body = call("POST", "/users", body={"id": 42})
    assert (status, body["id"]) == (200, "42")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "id"),
        ({"id": ""}, "id"),
        ({"id": "a/b"}, "id"),
        ({"id": ["x"]}, "id"),
        ({"id": "u1", "attributes": "x"}, "attributes"),
        ({"id": "u1", "attributes": {"bad.name": 1}}, "bad.name"),
        ({"id": "u1", "unknown": 1}, "unknown"),
        ([1, 2], "object"),
    ],
)
def test_bad_bodies_are_400s_naming_the_field(call: Invoke, body: object, named: str) -> None:
    status, response = call("POST", "/users", body=body)
    assert status == 400
    assert named in response["error"]["message"]
    assert response["error"]["request_id"]


def test_get_returns_the_user_or_404(call: Invoke) -> None:
    call("POST", "/users", body={"id": "u1", "attributes": {"name": "A"}})
    status, body = call("GET", "/users/u1")
    assert status == 200
    assert body["attributes"] == {"name": "A"}
    status, body = call("GET", "/users/nobody")
    assert status == 404
    assert body["error"]["code"] == "not_found"


def test_expand_memberships_gives_a_list_instead_of_null(call: Invoke) -> None:
    call("POST", "/users", body={"id": "u1"})
    _, body = call("GET", "/users/u1", query="expand=memberships.group")
    assert body["memberships"] == []
    assert body["groups"] is None


def test_delete_is_idempotent(call: Invoke) -> None:
    call("POST", "/users", body={"id": "u1"})
    for _ in range(2):
        status, body = call("DELETE", "/users/u1")
        assert (status, body) == (200, {"id": "u1", "object": "user", "deleted": True})
    assert call("GET", "/users/u1")[0] == 404


def test_list_pages_through_users_in_creation_order(call: Invoke) -> None:
    for i in range(5):
        call("POST", "/users", body={"id": f"u{i}"})
    _, page = call("GET", "/users", query="limit=2")
    assert [u["id"] for u in page["data"]] == ["u0", "u1"]
    assert page["has_more"] is True
    assert page["url"] == "/users?limit=2"
    assert page["next_page_url"] == "/users?limit=2&starting_after=u1"
    _, page = call("GET", "/users", query="limit=2&starting_after=u3")
    assert [u["id"] for u in page["data"]] == ["u4"]
    assert page["has_more"] is False
    _, page = call("GET", "/users", query="order_by=-created_at&limit=3")
    assert [u["id"] for u in page["data"]] == ["u4", "u3", "u2"]


def test_list_filters_by_email(call: Invoke) -> None:
    call("POST", "/users", body={"id": "u1", "attributes": {"email": "a@example.com"}})
    call("POST", "/users", body={"id": "u2", "attributes": {"email": "b@example.com"}})
    call("POST", "/users", body={"id": "u3", "attributes": {"email": "a@example.com"}})
    call("POST", "/users", body={"id": "u3", "attributes": {"email": "c@example.com"}})
    _, page = call("GET", "/users", query="email=a@example.com")
    assert [u["id"] for u in page["data"]] == ["u1"]
    call("POST", "/users", body={"id": "u1", "attributes": {"email": None}})
    _, page = call("GET", "/users", query="email=a@example.com")
    assert page["data"] == []


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("limit=500", "limit"),
        ("limit=500&sort=name", "limit"),
        ("order_by=email", "order_by"),
        ("starting_after=ghost", "starting_after"),
    ],
)
def test_bad_list_parameters_are_400(call: Invoke, query: str, named: str) -> None:
    status, body = call("GET", "/users", query=query)
    assert status == 400
    assert named in body["error"]["message"]


def test_unknown_version_header_is_400(call: Invoke) -> None:
    status, body = call("GET", "/users", headers={"Userflow-Version": "2099-01-01"})
    assert (status, body["error"]["code"]) == (400, "invalid_version")


def test_post_without_json_content_type_is_415(call: Invoke) -> None:
    status, _ = call("POST", "/users", body='{"id": "u1"}', headers={"Content-Type": "text/plain"})
    assert status == 415


def test_non_json_accept_is_406(call: Invoke) -> None:
    status, _ = call("GET", "/users", headers={"Accept": "text/html"})
    assert status == 406


def test_malformed_json_is_400(call: Invoke) -> None:
    status, body = call("POST", "/users", body='{"id": ')
    assert status == 400
    assert "not valid JSON" in body["error"]["message"]


def test_wrong_method_is_405_and_unknown_path_404(call: Invoke) -> None:
    status, body = call("PUT", "/users/u1", body={})
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    status, body = call("GET", "/users/u1/friends")
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_environments_never_see_each_others_users(call: Invoke, table: str) -> None:
    from shared.store import tenancy

    other = Invoke(lambda_handler, tenancy.create_environment("Other").id)
    call("POST", "/users", body={"id": "shared-id", "attributes": {"secret": "mine"}})
    assert other("GET", "/users/shared-id")[0] == 404
    assert other("GET", "/users")[1]["data"] == []
    other("DELETE", "/users/shared-id")
    assert call("GET", "/users/shared-id")[1]["attributes"] == {"secret": "mine"}


def test_writers_that_keep_colliding_get_a_409(
    call: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.store import attributed

    def always_conflicts(*args: object, **kwargs: object) -> None:
        raise attributed.ConflictError("version moved on every retry")

    monkeypatch.setattr(attributed, "write", always_conflicts)
    status, body = call(
        "POST", "/users", body={"id": "u1", "attributes": {"tags": {"append": "a"}}}
    )
    assert status == 409
    assert body["error"]["code"] == "conflict" and body["error"]["request_id"]


def test_a_percent_encoded_id_reaches_the_handler_decoded(call: Invoke) -> None:
    call("POST", "/users", body={"id": "a b@c.d+1:é"})
    status, body = call("GET", "/users/a%20b%40c.d%2B1%3A%C3%A9")
    assert (status, body["id"]) == (200, "a b@c.d+1:é")
    status, body = call("DELETE", "/users/a%20b%40c.d%2B1%3A%C3%A9")
    assert (status, body["id"]) == (200, "a b@c.d+1:é")


@pytest.mark.parametrize(
    ("dynamodb_message", "logged"),
    [
        ("Hash primary key values must be under 2048 bytes", ("ERROR", "Bug: DynamoDB refused")),
        ("Item size has exceeded the maximum allowed size", ("WARNING", "DynamoDB refused a")),
    ],
)
def test_a_validation_exception_from_dynamodb_is_a_400_and_logged(
    call: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    dynamodb_message: str,
    logged: tuple[str, str],
) -> None:
    """A missing check is logged as a bug; a checked write that raced another, as a warning."""
    from botocore.exceptions import ClientError

    from shared.store import dynamo

    def refuses(**_: object) -> None:
        error = {"Code": "ValidationException", "Message": dynamodb_message}
        raise ClientError({"Error": error}, "GetItem")

    monkeypatch.setattr(dynamo.client()._raw, "get_item", refuses)
    status, body = call("GET", "/users/u1")
    assert status == 400
    assert body["error"]["code"] == "invalid_request"
    assert dynamodb_message in body["error"]["message"]
    [record] = [r for r in caplog.records if "DynamoDB refused" in r.getMessage()]
    assert (record.levelname, record.getMessage()[: len(logged[1])]) == logged


def test_limits_apply_to_the_object_after_the_write(
    call: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.domain import limits

    monkeypatch.setattr(limits, "MAX_ATTRIBUTES_PER_OBJECT", 3)
    assert call("POST", "/users", body={"id": "u1", "attributes": {"a": 1, "b": 2}})[0] == 200
    status, body = call("POST", "/users", body={"id": "u1", "attributes": {"c": 3, "d": 4}})
    assert status == 400 and "4 attributes" in body["error"]["message"]
    # Unsetting one makes room for another: it is the count after the write that counts.
    assert call("POST", "/users", body={"id": "u1", "attributes": {"a": None, "c": 3}})[0] == 200
    full = [f"v{i}" for i in range(limits.MAX_LIST_LENGTH)]
    assert call("POST", "/users", body={"id": "u2", "attributes": {"tags": full}})[0] == 200
    status, body = call(
        "POST", "/users", body={"id": "u2", "attributes": {"tags": {"append": "x"}}}
    )
    assert status == 400 and "attributes.tags" in body["error"]["message"]
    assert (
        call("POST", "/users", body={"id": "u2", "attributes": {"tags": {"remove": "v1"}}})[0]
        == 200
    )


def test_the_longest_update_expression_fits_dynamodbs_4_kb(call: Invoke) -> None:
    """100 attributes a request is what one UpdateItem's expression (at most 4 KB) holds."""
    from shared.domain.limits import MAX_ATTRIBUTES_PER_REQUEST
    from shared.store import dynamo

    expressions: list[str] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        expressions.extend(
            params.get(name, "") for name in ("UpdateExpression", "ConditionExpression")
        )

    dynamo.client().meta.events.register("provide-client-params.dynamodb.UpdateItem", capture)
    names = [f"attribute_{i:03d}" for i in range(MAX_ATTRIBUTES_PER_REQUEST - 1)]
    widest = {name: {"set_once": "v"} for name in names} | {"email": {"set_once": "e@x.io"}}
    adds = {f"count_{i:03d}": {"add": 1} for i in range(len(names))} | {"email": "e@x.io"}
    for attributes in (widest, adds):
        status, body = call(
            "POST",
            "/users",
            body={
                "id": "u" * 480,
                "attributes": attributes,
                "memberships": [{"attributes": widest, "group": {"id": "g" * 480}}],
            },
        )
        assert status == 200, body
    assert max(len(e) for e in expressions) <= 4096
