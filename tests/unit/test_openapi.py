"""docs/openapi.json: generated from the code, current, valid OpenAPI 3.1, every route in it."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from infra.openapi.__main__ import DOCUMENT, main, render
from infra.openapi.generator import WRITES, build_document
from infra.routes import API_FUNCTIONS
from shared.http import idempotency

# Operations Userflow's API reference lacks (docs: the README's extension table).
EXTENSIONS = {
    ("post", "/content"),
    ("patch", "/content/{content_id}"),
    ("post", "/content/{content_id}/archive"),
    ("post", "/content/{content_id}/unarchive"),
    ("patch", "/content/{content_id}/draft"),
    ("post", "/content/{content_id}/publish"),
    ("post", "/content_sessions"),
    ("post", "/content_sessions/{session_id}/progress"),
    ("post", "/content_sessions/{session_id}/answers"),
    ("post", "/content_sessions/{session_id}/tasks/{task_cvid}/complete"),
    ("post", "/content_sessions/{session_id}/activate_launcher"),
    ("post", "/content_sessions/{session_id}/complete"),
    ("post", "/content_sessions/{session_id}/end"),
    ("get", "/events"),
    ("post", "/segments"),
    ("get", "/segments"),
    ("get", "/segments/{segment_id}"),
    ("patch", "/segments/{segment_id}"),
    ("delete", "/segments/{segment_id}"),
    ("post", "/webhook_subscriptions/{webhook_subscription_id}/rotate_secret"),
    ("post", "/webhook_subscriptions/{webhook_subscription_id}/test"),
    ("post", "/webhook_subscriptions/{webhook_subscription_id}/recover"),
    ("get", "/webhook_subscriptions/{webhook_subscription_id}/deliveries"),
    ("get", "/webhook_subscriptions/{webhook_subscription_id}/deliveries/{delivery_id}"),
    ("post", "/webhook_subscriptions/{webhook_subscription_id}/deliveries/{delivery_id}/resend"),
    ("get", "/users/search"),
    ("post", "/users/{user_id}/unsubscribe"),
    ("post", "/users/{user_id}/resubscribe"),
    ("post", "/users/bulk"),
    ("post", "/imports"),
    ("get", "/imports/{job_id}"),
    ("post", "/imports/{job_id}/start"),
    ("get", "/imports/{job_id}/errors"),
    ("post", "/exports"),
    ("get", "/exports/{job_id}"),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def test_the_committed_document_is_current() -> None:
    assert DOCUMENT.read_text() == render(), "docs/openapi.json is stale: run `make openapi`"
    assert main(["--check"]) == 0


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_table_path_is_documented(document: dict[str, Any]) -> None:
    """Every path but Usertour's v1 ones, which present documented operations in v1's shape
    (docs/usertour-v1.md)."""
    paths = {path for route in API_FUNCTIONS for path in route.paths}
    assert set(document["paths"]) == {path for path in paths if not path.startswith("/v1/")}


def test_extensions_and_only_them_are_marked(document: dict[str, Any]) -> None:
    marked = {
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("x-waymark-extension") is True
    }
    assert marked == EXTENSIONS


def test_every_operation_documents_its_answer_and_the_apis_errors(
    document: dict[str, Any],
) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "200" in responses, (method, path)
            assert {"400", "401", "404", "429"} <= set(responses), (method, path)
            assert "500" not in responses  # never a 5xx by design


def test_bodies_are_the_models_the_routes_parse(document: dict[str, Any]) -> None:
    upsert = document["paths"]["/users"]["post"]["requestBody"]
    assert upsert["required"] is True
    assert upsert["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UpsertUserBody"
    }
    user = document["components"]["schemas"]["UpsertUserBody"]
    assert user["additionalProperties"] is False
    assert "id" in user["required"]
    publish = document["paths"]["/content/{content_id}/publish"]["post"]["requestBody"]
    assert publish["required"] is False


def test_lists_document_their_query_parameters(document: dict[str, Any]) -> None:
    parameters = {
        p["name"]: p for p in document["paths"]["/users"]["get"]["parameters"] if "name" in p
    }
    assert {"limit", "starting_after", "order_by", "order_by[]", "condition", "email"} <= set(
        parameters
    )
    assert parameters["limit"]["schema"]["maximum"] == 100
    deletion = document["paths"]["/group_memberships"]["delete"]["parameters"]
    required = {p["name"] for p in deletion if p.get("required")}
    assert required == {"group_id", "user_id"}


def test_idempotency_key_is_documented_once_on_every_write(document: dict[str, Any]) -> None:
    reference = {"$ref": "#/components/parameters/IdempotencyKey"}
    for operations in document["paths"].values():
        for method, operation in operations.items():
            assert (reference in operation.get("parameters", [])) == (method.upper() in WRITES)
    header = document["components"]["parameters"]["IdempotencyKey"]
    assert header["name"] == idempotency.HEADER and header["in"] == "header"
    assert header["description"] == idempotency.HEADER_DESCRIPTION
