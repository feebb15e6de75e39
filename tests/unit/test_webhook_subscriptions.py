"""Webhook subscriptions as the reference documents them, the extensions (secret rotation,
test notifications, delivery log, resend, recover), and the webhook store (moto: DynamoDB, SQS)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.webhook_subscriptions.handler import lambda_handler
from shared.clock import format_timestamp
from shared.store import deliveries, dynamo, keys, tenancy
from shared.store import subscriptions as store
from shared.webhooks import queue
from shared.webhooks.messages import DeliveryMessage, delivery_id_for
from tests.unit.conftest import Invoke

URL = "https://example.com/hooks/userflow"
SPEC_KEYS = {"id", "object", "api_version", "created_at", "disabled", "topics", "url"}
EXTENSION_KEYS = {"standard_webhooks", "disabled_reason", "disabled_at", "circuit"}
DELIVERY_KEYS = {
    "id",
    "object",
    "attempts",
    "dropped_attempts",
    "created_at",
    "notification",
    "notification_stored",
    "notification_id",
    "status",
    "topic",
    "updated_at",
    "webhook_subscription_id",
}


@pytest.fixture
def queue_url(table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url: str = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="webhooks-unit")[
        "QueueUrl"
    ]
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", url)
    monkeypatch.delenv("SQS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("WAYMARK_WEBHOOKS_ALLOW_LOOPBACK", raising=False)
    queue.reset()  # also forgets the cached settings
    yield url
    queue.reset()


@pytest.fixture
def call(environment: str, queue_url: str) -> Invoke:
    return Invoke(lambda_handler, environment)


@pytest.fixture
def other(environment: str, queue_url: str) -> Invoke:
    return Invoke(lambda_handler, tenancy.create_environment("Other").id)


def create(call: Invoke, **fields: Any) -> dict[str, Any]:
    status, body = call(
        "POST", "/webhook_subscriptions", body={"url": URL, "topics": ["user", "event"], **fields}
    )
    assert status == 200, body
    created: dict[str, Any] = body
    return created


def queued(queue_url: str) -> list[DeliveryMessage]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    found: list[DeliveryMessage] = []
    while True:
        result = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        messages = result.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(DeliveryMessage.from_json(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def message(
    environment: str, subscription_id: str, created_at: str, notification_id: str = "n-1"
) -> DeliveryMessage:
    body = json.dumps({"id": notification_id, "object": "webhook_notification", "topic": "user"})
    return DeliveryMessage(
        environment_id=environment,
        subscription_id=subscription_id,
        delivery_id=delivery_id_for(notification_id, subscription_id),
        notification_id=notification_id,
        topic="user.created",
        body=body,
        created_at=created_at,
        window_started_at=time.time() - 10,
    )


def attempt(status_code: int | None, error: str | None = None) -> dict[str, Any]:
    return {
        "attempted_at": "2024-01-01T00:00:00.000+00:00",
        "status_code": status_code,
        "duration_ms": 12,
        "error": error,
        "next_attempt_at": None,
    }


def at(minutes: int) -> str:
    return format_timestamp(datetime(2024, 5, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=minutes))


def error_message(response: tuple[int, Any]) -> str:
    status, body = response
    assert status == 400, body
    message: str = body["error"]["message"]
    return message


# --- the reference's routes ----------------------------------------------------------------


def test_create_returns_the_object_with_its_secret(call: Invoke) -> None:
    created = create(call, api_version="2020-01-03")
    assert set(created) == SPEC_KEYS | {"secret"} | EXTENSION_KEYS
    assert created["object"] == "webhook_subscription"
    assert created["api_version"] == "2020-01-03"
    assert created["disabled"] is False
    assert created["topics"] == ["user", "event"]
    assert created["url"] == URL
    assert created["secret"].startswith("whsec_")
    assert created["standard_webhooks"] is False
    assert created["disabled_reason"] is None and created["disabled_at"] is None
    datetime.fromisoformat(created["created_at"])
    assert created["created_at"].endswith("+00:00")


def test_create_defaults_api_version_and_each_subscription_has_its_own_secret(
    call: Invoke,
) -> None:
    first, second = create(call), create(call)
    assert first["api_version"] == "2020-01-03"
    assert first["secret"] != second["secret"]
    assert first["id"] != second["id"]


def test_get_returns_the_object_without_its_secret(call: Invoke) -> None:
    created = create(call)
    status, found = call("GET", f"/webhook_subscriptions/{created['id']}")
    assert status == 200
    assert found == {k: v for k, v in created.items() if k != "secret"}


def test_get_unknown_is_404(call: Invoke) -> None:
    status, body = call("GET", "/webhook_subscriptions/c8783643-7f16-4a02-b736-4f5a327f8231")
    assert status == 404
    assert body["error"]["code"] == "not_found"


def test_patch_disabled_as_in_the_reference(call: Invoke) -> None:
    created = create(call)
    status, updated = call(
        "PATCH", f"/webhook_subscriptions/{created['id']}", body={"disabled": True}
    )
    assert status == 200
    assert updated == {k: v for k, v in created.items() if k != "secret"} | {"disabled": True}
    assert call("GET", f"/webhook_subscriptions/{created['id']}")[1]["disabled"] is True


def test_patch_changes_only_the_given_fields(call: Invoke) -> None:
    created = create(call)
    status, updated = call(
        "PATCH",
        f"/webhook_subscriptions/{created['id']}",
        body={
            "api_version": "2020-01-03",
            "topics": ["group.created", "event.tracked.flow_started"],
            "url": "https://hooks.example.org/w?x=1",
        },
    )
    assert status == 200
    assert updated["topics"] == ["group.created", "event.tracked.flow_started"]
    assert updated["url"] == "https://hooks.example.org/w?x=1"
    assert updated["disabled"] is False
    assert updated["created_at"] == created["created_at"]
    assert "secret" not in updated


def test_patch_with_an_empty_body_changes_nothing(call: Invoke) -> None:
    created = create(call)
    status, updated = call("PATCH", f"/webhook_subscriptions/{created['id']}", body={})
    assert status == 200
    assert updated == {k: v for k, v in created.items() if k != "secret"}


def test_patch_unknown_is_404(call: Invoke) -> None:
    status, _ = call("PATCH", "/webhook_subscriptions/nope", body={"disabled": True})
    assert status == 404


def test_delete_is_idempotent(call: Invoke) -> None:
    created = create(call)
    path = f"/webhook_subscriptions/{created['id']}"
    expected = {"id": created["id"], "object": "webhook_subscription", "deleted": True}
    assert call("DELETE", path) == (200, expected)
    assert call("DELETE", path) == (200, expected)
    assert call("GET", path)[0] == 404


def test_list_in_creation_order_without_secrets(call: Invoke) -> None:
    ids = [create(call)["id"] for _ in range(3)]
    status, page = call("GET", "/webhook_subscriptions")
    assert status == 200
    assert page["object"] == "list"
    assert [s["id"] for s in page["data"]] == ids
    assert page["has_more"] is False
    assert page["url"] == "/webhook_subscriptions"
    assert all(set(s) == SPEC_KEYS | EXTENSION_KEYS for s in page["data"])
    _, descending = call("GET", "/webhook_subscriptions", query="order_by=-created_at")
    assert [s["id"] for s in descending["data"]] == ids[::-1]


def test_list_ordered_by_url(call: Invoke) -> None:
    for host in ("b.example.com", "c.example.com", "a.example.com"):
        create(call, url=f"https://{host}/hook")
    _, page = call("GET", "/webhook_subscriptions", query="order_by=url")
    assert [s["url"] for s in page["data"]] == [
        "https://a.example.com/hook",
        "https://b.example.com/hook",
        "https://c.example.com/hook",
    ]
    _, page = call("GET", "/webhook_subscriptions", query="order_by[]=-url")
    assert page["data"][0]["url"] == "https://c.example.com/hook"


def test_list_pages_with_limit_and_starting_after(call: Invoke) -> None:
    ids = [create(call)["id"] for _ in range(3)]
    _, first = call("GET", "/webhook_subscriptions", query="limit=2")
    assert [s["id"] for s in first["data"]] == ids[:2]
    assert first["has_more"] is True
    assert first["next_page_url"] == f"/webhook_subscriptions?limit=2&starting_after={ids[1]}"
    _, second = call("GET", "/webhook_subscriptions", query=f"limit=2&starting_after={ids[1]}")
    assert [s["id"] for s in second["data"]] == ids[2:]
    assert second["has_more"] is False


def test_list_rejects_an_unknown_order_field(call: Invoke) -> None:
    assert "order_by" in error_message(
        call("GET", "/webhook_subscriptions", query="order_by=topics")
    )


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"topics": ["user"]}, "`url`"),
        ({"url": URL}, "`topics`"),
        ({"url": URL, "topics": []}, "`topics`"),
        ({"url": URL, "topics": ["users"]}, "`topics[0]`"),
        ({"url": URL, "topics": ["user", 7]}, "`topics[1]`"),
        ({"url": "http://example.com/hook", "topics": ["user"]}, "`url`"),
        ({"url": "https://127.0.0.1/hook", "topics": ["user"]}, "`url`"),
        ({"url": "https://10.0.0.8/hook", "topics": ["user"]}, "`url`"),
        ({"url": 42, "topics": ["user"]}, "`url`"),
        ({"url": URL, "topics": ["user"], "api_version": "2023-01-01"}, "`api_version`"),
        ({"url": URL, "topics": ["user"], "standard_webhooks": "yes"}, "`standard_webhooks`"),
        ({"url": URL, "topics": ["user"], "secret": "whsec_mine"}, "`secret`"),
        ({"url": URL, "topics": ["user"], "disabled": True}, "`disabled`"),
    ],
)
def test_create_rejects_invalid_fields_naming_them(
    call: Invoke, body: dict[str, Any], field: str
) -> None:
    assert field in error_message(call("POST", "/webhook_subscriptions", body=body))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": None}, "`url`"),
        ({"topics": None}, "`topics`"),
        ({"disabled": "false"}, "`disabled`"),
        ({"disabled": None}, "`disabled`"),
        ({"topics": ["user", "widget.created"]}, "`topics[1]`"),
        ({"api_version": "2019-01-01"}, "`api_version`"),
        ({"url": "ftp://example.com"}, "`url`"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "`created_at`"),
    ],
)
def test_patch_rejects_invalid_fields_naming_them(
    call: Invoke, body: dict[str, Any], field: str
) -> None:
    created = create(call)
    path = f"/webhook_subscriptions/{created['id']}"
    assert field in error_message(call("PATCH", path, body=body))
    assert call("GET", path)[1] == {k: v for k, v in created.items() if k != "secret"}


def test_loopback_receivers_only_with_the_local_switch(
    call: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"url": "http://localhost:8080/hook", "topics": ["*"]}
    assert "`url`" in error_message(call("POST", "/webhook_subscriptions", body=body))
    monkeypatch.setenv("WAYMARK_WEBHOOKS_ALLOW_LOOPBACK", "1")
    queue.reset()
    status, created = call("POST", "/webhook_subscriptions", body=body)
    assert status == 200
    assert created["url"] == "http://localhost:8080/hook"


def test_unknown_query_parameters_are_ignored(call: Invoke) -> None:
    created = create(call)
    status, got = call("GET", f"/webhook_subscriptions/{created['id']}", query="foo=1")
    assert (status, got["id"]) == (200, created["id"])


# --- extensions on the object ----------------------------------------------------------------


def test_standard_webhooks_is_set_at_create_and_by_patch(call: Invoke) -> None:
    created = create(call, standard_webhooks=True)
    assert created["standard_webhooks"] is True
    _, updated = call(
        "PATCH", f"/webhook_subscriptions/{created['id']}", body={"standard_webhooks": False}
    )
    assert updated["standard_webhooks"] is False


def test_automatic_disable_shows_and_re_enabling_clears_it(call: Invoke, environment: str) -> None:
    created = create(call)
    path = f"/webhook_subscriptions/{created['id']}"
    assert store.record_failure(environment, created["id"], "2024-05-01T00:00:00.000+00:00")
    store.disable(environment, created["id"], reason="Every delivery failed for 5 days.", at=at(0))
    _, found = call("GET", path)
    assert found["disabled"] is True
    assert found["disabled_reason"] == "Every delivery failed for 5 days."
    assert found["disabled_at"] == at(0)
    status, enabled = call("PATCH", path, body={"disabled": False})
    assert status == 200
    assert enabled["disabled"] is False
    assert enabled["disabled_reason"] is None and enabled["disabled_at"] is None
    subscription = store.get(environment, created["id"])
    assert subscription is not None and subscription.failing_since is None


def test_rotate_secret_returns_the_new_secret_and_keeps_the_old_for_the_grace_period(
    call: Invoke, environment: str
) -> None:
    created = create(call)
    status, rotated = call(
        "POST",
        f"/webhook_subscriptions/{created['id']}/rotate_secret",
        body={"grace_period_seconds": 3600},
    )
    assert status == 200
    assert set(rotated) == SPEC_KEYS | {"secret"} | EXTENSION_KEYS
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    stored = store.get(environment, created["id"])
    assert stored is not None
    assert stored.secret == rotated["secret"]
    assert stored.previous_secret == created["secret"]
    assert stored.previous_secret_expires_at is not None
    expires = datetime.fromisoformat(stored.previous_secret_expires_at)
    assert abs((expires - datetime.now(UTC)).total_seconds() - 3600) < 60
    assert "secret" not in call("GET", f"/webhook_subscriptions/{created['id']}")[1]


def test_rotate_secret_defaults_to_a_day_of_grace_and_takes_no_body(
    call: Invoke, environment: str
) -> None:
    created = create(call)
    status, _ = call("POST", f"/webhook_subscriptions/{created['id']}/rotate_secret")
    assert status == 200
    stored = store.get(environment, created["id"])
    assert stored is not None and stored.previous_secret_expires_at is not None
    expires = datetime.fromisoformat(stored.previous_secret_expires_at)
    assert abs((expires - datetime.now(UTC)).total_seconds() - 86_400) < 60


def test_rotate_secret_without_grace_forgets_the_old_secret(call: Invoke, environment: str) -> None:
    created = create(call)
    path = f"/webhook_subscriptions/{created['id']}/rotate_secret"
    call("POST", path, body={"grace_period_seconds": 600})
    call("POST", path, body={"grace_period_seconds": 0})
    stored = store.get(environment, created["id"])
    assert stored is not None
    assert stored.previous_secret is None and stored.previous_secret_expires_at is None


@pytest.mark.parametrize("grace", [-1, 604_801, "60", 1.5, None])
def test_rotate_secret_rejects_a_bad_grace_period(call: Invoke, grace: Any) -> None:
    created = create(call)
    assert "`grace_period_seconds`" in error_message(
        call(
            "POST",
            f"/webhook_subscriptions/{created['id']}/rotate_secret",
            body={"grace_period_seconds": grace},
        )
    )


def test_rotate_secret_of_unknown_is_404(call: Invoke) -> None:
    assert call("POST", "/webhook_subscriptions/nope/rotate_secret")[0] == 404


# --- test notifications and the delivery log -------------------------------------------------


def test_test_enqueues_a_webhook_test_notification_for_that_subscription_only(
    call: Invoke, environment: str, queue_url: str
) -> None:
    created = create(call, topics=["user.created"])
    create(call, topics=["*"])
    status, delivery = call("POST", f"/webhook_subscriptions/{created['id']}/test")
    assert status == 200
    assert set(delivery) == DELIVERY_KEYS
    assert delivery["object"] == "webhook_delivery"
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == []
    assert delivery["topic"] == "webhook.test"
    assert delivery["webhook_subscription_id"] == created["id"]
    (sent,) = queued(queue_url)
    assert sent.subscription_id == created["id"]
    assert sent.environment_id == environment
    assert sent.delivery_id == delivery["id"]
    assert sent.notification_id == delivery["notification_id"]
    assert sent.delivery_id == delivery_id_for(sent.notification_id, created["id"])
    assert abs(sent.window_started_at - time.time()) < 60
    notification = json.loads(sent.body or "")
    assert notification == delivery["notification"]
    assert notification["object"] == "webhook_notification"
    assert notification["id"] == sent.notification_id
    assert notification["api_version"] == "2020-01-03"
    assert notification["topic"] == "webhook.test"
    assert notification["created_at"] == sent.created_at == delivery["created_at"]
    assert notification["data"]["object"]["id"] == created["id"]
    assert "secret" not in notification["data"]["object"]


def test_test_of_unknown_is_404_and_enqueues_nothing(call: Invoke, queue_url: str) -> None:
    assert call("POST", "/webhook_subscriptions/nope/test")[0] == 404
    assert queued(queue_url) == []


def test_deliveries_are_listed_newest_first_and_paged(call: Invoke, environment: str) -> None:
    sub = create(call)["id"]
    ids = []
    for minute in range(3):
        m = message(environment, sub, at(minute), notification_id=f"n-{minute}")
        deliveries.record_attempt(m, attempt(500), "failed")
        ids.append(m.delivery_id)
    path = f"/webhook_subscriptions/{sub}/deliveries"
    status, first = call("GET", path, query="limit=2")
    assert status == 200
    assert [d["id"] for d in first["data"]] == [ids[2], ids[1]]
    assert first["has_more"] is True
    assert first["next_page_url"] == f"{path}?limit=2&starting_after={ids[1]}"
    _, second = call("GET", path, query=f"limit=2&starting_after={ids[1]}")
    assert [d["id"] for d in second["data"]] == [ids[0]]
    assert second["has_more"] is False
    _, oldest_first = call("GET", path, query="order_by=created_at")
    assert [d["id"] for d in oldest_first["data"]] == ids
    assert all(set(d) == DELIVERY_KEYS for d in first["data"])


def test_deliveries_reject_an_unknown_starting_after(call: Invoke) -> None:
    sub = create(call)["id"]
    assert "starting_after" in error_message(
        call("GET", f"/webhook_subscriptions/{sub}/deliveries", query="starting_after=nope")
    )


def test_get_a_delivery_with_its_attempts(call: Invoke, environment: str) -> None:
    sub = create(call)["id"]
    m = message(environment, sub, at(0))
    deliveries.record_attempt(m, attempt(None, "timed out after 15 s"), "failed")
    deliveries.record_attempt(m, attempt(200), "succeeded")
    status, delivery = call("GET", f"/webhook_subscriptions/{sub}/deliveries/{m.delivery_id}")
    assert status == 200
    assert delivery["status"] == "succeeded"
    assert delivery["attempts"] == [attempt(None, "timed out after 15 s"), attempt(200)]
    assert delivery["notification"] == json.loads(m.body or "")
    assert delivery["created_at"] == at(0)
    missing = call("GET", f"/webhook_subscriptions/{sub}/deliveries/nope")
    assert missing[0] == 404


def test_resend_enqueues_the_same_delivery_with_a_new_window(
    call: Invoke, environment: str, queue_url: str
) -> None:
    sub = create(call)["id"]
    m = message(environment, sub, at(0))
    deliveries.record_attempt(m, attempt(500), "dead")
    status, delivery = call(
        "POST", f"/webhook_subscriptions/{sub}/deliveries/{m.delivery_id}/resend"
    )
    assert status == 200
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == [attempt(500)]
    (sent,) = queued(queue_url)
    assert (sent.delivery_id, sent.notification_id, sent.body, sent.created_at) == (
        m.delivery_id,
        m.notification_id,
        m.body,
        m.created_at,
    )
    assert sent.window_started_at > m.window_started_at


def test_resend_of_an_unknown_delivery_is_404(call: Invoke, queue_url: str) -> None:
    sub = create(call)["id"]
    assert call("POST", f"/webhook_subscriptions/{sub}/deliveries/nope/resend")[0] == 404
    assert queued(queue_url) == []


def test_recover_resends_failed_and_dead_deliveries_since(
    call: Invoke, environment: str, queue_url: str
) -> None:
    sub = create(call)["id"]
    outcomes: list[tuple[int, deliveries.DeliveryStatus]] = [
        (-5, "failed"),
        (0, "dead"),
        (1, "succeeded"),
        (2, "failed"),
        (3, "pending"),
    ]
    logged = {}
    for minute, outcome in outcomes:
        m = message(environment, sub, at(minute), notification_id=f"n{minute}")
        deliveries.record_attempt(m, attempt(200 if outcome == "succeeded" else 500), outcome)
        logged[minute] = m.delivery_id
    status, result = call(
        "POST", f"/webhook_subscriptions/{sub}/recover", body={"since": "2024-05-01T12:00:00Z"}
    )
    assert status == 200
    assert result == {
        "object": "webhook_recovery",
        "webhook_subscription_id": sub,
        "since": "2024-05-01T12:00:00.000+00:00",
        "resent_count": 2,
        "has_more": False,
    }
    assert sorted(m.delivery_id for m in queued(queue_url)) == sorted([logged[0], logged[2]])
    _, again = call(
        "POST", f"/webhook_subscriptions/{sub}/recover", body={"since": "2024-05-01T13:00:00+01:00"}
    )
    assert again["resent_count"] == 0  # what was resent is pending now


@pytest.mark.parametrize("body", [{}, {"since": "yesterday"}, {"since": 1714564800}])
def test_recover_needs_an_iso_since(call: Invoke, body: dict[str, Any]) -> None:
    sub = create(call)["id"]
    assert "`since`" in error_message(
        call("POST", f"/webhook_subscriptions/{sub}/recover", body=body)
    )


def test_nothing_is_sent_to_a_disabled_subscription(
    call: Invoke, environment: str, queue_url: str
) -> None:
    sub = create(call)["id"]
    m = message(environment, sub, at(0))
    deliveries.record_attempt(m, attempt(500), "dead")
    call("PATCH", f"/webhook_subscriptions/{sub}", body={"disabled": True})
    path = f"/webhook_subscriptions/{sub}"
    for response in (
        call("POST", f"{path}/test"),
        call("POST", f"{path}/deliveries/{m.delivery_id}/resend"),
        call("POST", f"{path}/recover", body={"since": at(-1)}),
    ):
        assert "disabled" in error_message(response)
    assert queued(queue_url) == []


# --- tenant isolation ------------------------------------------------------------------------


def test_another_environment_cannot_see_change_or_delete(
    call: Invoke, other: Invoke, environment: str, queue_url: str
) -> None:
    created = create(call)
    m = message(environment, created["id"], at(0))
    deliveries.record_attempt(m, attempt(500), "failed")
    path = f"/webhook_subscriptions/{created['id']}"
    assert other("GET", path)[0] == 404
    assert other("PATCH", path, body={"disabled": True})[0] == 404
    assert other("DELETE", path)[0] == 200  # idempotent, and deletes nothing of ours
    assert other("GET", "/webhook_subscriptions")[1]["data"] == []
    assert other("POST", f"{path}/rotate_secret")[0] == 404
    assert other("POST", f"{path}/test")[0] == 404
    assert other("GET", f"{path}/deliveries")[0] == 404
    assert other("GET", f"{path}/deliveries/{m.delivery_id}")[0] == 404
    assert other("POST", f"{path}/deliveries/{m.delivery_id}/resend")[0] == 404
    assert other("POST", f"{path}/recover", body={"since": at(-60)})[0] == 404
    assert queued(queue_url) == []
    status, mine = call("GET", path)
    assert status == 200
    assert mine == {k: v for k, v in created.items() if k != "secret"}


def test_unsupported_methods_are_405(call: Invoke) -> None:
    status, body = call("PUT", "/webhook_subscriptions")
    assert status == 405
    assert body["error"]["code"] == "method_not_allowed"


# --- the store -------------------------------------------------------------------------------


def test_list_all_reads_one_environment(call: Invoke, other: Invoke, environment: str) -> None:
    mine = {create(call)["id"], create(call)["id"]}
    create(other)
    assert {s.id for s in store.list_all(environment)} == mine


def test_items_use_the_documented_keys(call: Invoke, environment: str) -> None:
    sub = create(call)["id"]
    m = message(environment, sub, at(0))
    deliveries.record_attempt(m, attempt(500), "failed")
    client, table = dynamo.client(), dynamo.table_name()
    key = {"PK": f"E#{environment}#WEBHOOKS", "SK": f"S#{sub}"}
    assert key == keys.webhook_subscription(environment, sub)
    assert "Item" in client.get_item(TableName=table, Key=dynamo.to_item(key))
    log_key = {"PK": f"E#{environment}#WHD#{sub}", "SK": f"D#{at(0)}#{m.delivery_id}"}
    item = dynamo.from_item(client.get_item(TableName=table, Key=dynamo.to_item(log_key))["Item"])
    assert item["status"] == "failed"
    assert abs(item["expires_at"] - (time.time() + 30 * 86_400)) < 60


def test_record_attempt_creates_then_appends(call: Invoke, environment: str) -> None:
    sub = create(call)["id"]
    m = message(environment, sub, at(0))
    first = deliveries.record_attempt(m, attempt(502), "failed")
    assert (first.status, first.attempts) == ("failed", [attempt(502)])
    second = deliveries.record_attempt(m, attempt(200), "succeeded")
    assert second.status == "succeeded"
    assert second.attempts == [attempt(502), attempt(200)]
    assert second.created_at == at(0) and second.body == m.body
    assert deliveries.get_delivery(environment, sub, m.delivery_id) == second
    assert deliveries.get_delivery(environment, "another-subscription", m.delivery_id) is None


def test_record_failure_counts_and_keeps_the_first_failure_and_success_clears_it(
    call: Invoke, environment: str
) -> None:
    sub = create(call)["id"]

    def streak(now: str) -> tuple[str | None, int]:
        found = store.record_failure(environment, sub, now)
        assert found is not None
        return found.failing_since, found.consecutive_failures

    assert streak(at(0)) == (at(0), 1)
    assert streak(at(5)) == (at(0), 2)
    store.record_success(environment, sub)
    store.record_success(environment, sub)  # nothing to clear: no error
    assert streak(at(9)) == (at(9), 1)
    assert store.record_failure(environment, "gone", at(9)) is None


def test_failed_since_is_a_bounded_oldest_first_range(call: Invoke, environment: str) -> None:
    sub = create(call)["id"]
    for minute in range(-2, 5):
        outcome: deliveries.DeliveryStatus = "succeeded" if minute == 1 else "failed"
        deliveries.record_attempt(
            message(environment, sub, at(minute), notification_id=f"n{minute}"),
            attempt(500),
            outcome,
        )
    page = deliveries.failed_since(environment, sub, at(0), limit=2)
    assert [d.created_at for d in page.items] == [at(0), at(2)]
    assert page.has_more is True
    rest = deliveries.failed_since(environment, sub, at(0))
    assert [d.created_at for d in rest.items] == [at(0), at(2), at(3), at(4)]
    assert rest.has_more is False


# --- limits and faults ------------------------------------------------------------------------


def test_an_environment_has_at_most_the_configured_number_of_subscriptions(
    call: Invoke, other: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_SUBSCRIPTION_LIMIT", "3")
    queue.reset()  # forget the cached settings
    for _ in range(3):
        create(call)
    message = error_message(
        call("POST", "/webhook_subscriptions", body={"url": URL, "topics": ["user"]})
    )
    assert "already has 3 webhook subscriptions" in message
    assert len(call("GET", "/webhook_subscriptions")[1]["data"]) == 3
    create(other)  # the cap is per environment


def _failing_batches(monkeypatch: pytest.MonkeyPatch, fail_from_call: int) -> list[int]:
    """SQS takes the first `fail_from_call - 1` SendMessageBatch calls, then refuses all."""
    from botocore.exceptions import ClientError

    sizes: list[int] = []
    real = queue.client().send_message_batch

    def send_message_batch(**arguments: Any) -> Any:
        if len(sizes) + 1 >= fail_from_call:
            error = {"Error": {"Code": "ServiceUnavailable", "Message": "down"}}
            raise ClientError(error, "SendMessageBatch")
        sizes.append(len(arguments["Entries"]))
        return real(**arguments)

    monkeypatch.setattr(queue.client(), "send_message_batch", send_message_batch)
    return sizes


def test_recover_that_fails_part_way_leaves_the_rest_for_the_next_call(
    call: Invoke, environment: str, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = create(call)["id"]
    messages = [message(environment, sub, at(n), notification_id=f"n{n}") for n in range(25)]
    for m in messages:
        deliveries.record_attempt(m, attempt(500), "dead")
    sizes = _failing_batches(monkeypatch, fail_from_call=2)
    path = f"/webhook_subscriptions/{sub}/recover"
    status, result = call("POST", path, body={"since": at(0)})
    assert status == 200
    assert (result["resent_count"], result["has_more"]) == (sizes[0], True) == (10, True)
    statuses = [
        found.status
        for found in (deliveries.get_delivery(environment, sub, m.delivery_id) for m in messages)
        if found is not None
    ]
    # Only what SQS holds is pending; the rest is still dead, for the next recover to find.
    assert statuses == ["pending"] * 10 + ["dead"] * 15
    assert len(queued(queue_url)) == 10

    monkeypatch.undo()
    status, result = call("POST", path, body={"since": at(0)})
    assert (status, result["resent_count"], result["has_more"]) == (200, 15, False)
    assert len(queued(queue_url)) == 15


def test_a_resend_sqs_refuses_changes_nothing_and_asks_to_retry(
    call: Invoke, environment: str, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = create(call)["id"]
    m = message(environment, sub, at(0))
    deliveries.record_attempt(m, attempt(500), "dead")
    _failing_batches(monkeypatch, fail_from_call=1)
    status, body = call("POST", f"/webhook_subscriptions/{sub}/deliveries/{m.delivery_id}/resend")
    assert status == 503 and body["error"]["code"] == "service_unavailable"
    found = deliveries.get_delivery(environment, sub, m.delivery_id)
    assert found is not None and found.status == "dead"


def test_large_notifications_are_left_out_of_lists_and_shown_one_at_a_time(
    call: Invoke, environment: str, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.webhooks import bodies

    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="waymark-bodies-unit")
    monkeypatch.setenv("WEBHOOK_BODIES_BUCKET", "waymark-bodies-unit")
    bodies.reset()
    sub = create(call)["id"]
    body = json.dumps({"id": "big", "data": {"bio": "x" * 300_000}})
    key = bodies.key_for(environment, "big", "2020-01-03")
    bodies.store(key, body)
    big = dataclasses.replace(message(environment, sub, at(0), "big"), body=None, body_key=key)
    deliveries.record_attempt(big, attempt(200), "succeeded")

    [listed] = call("GET", f"/webhook_subscriptions/{sub}/deliveries")[1]["data"]
    assert (listed["notification"], listed["notification_stored"]) == (None, True)
    _, one = call("GET", f"/webhook_subscriptions/{sub}/deliveries/{big.delivery_id}")
    assert one["notification"] == json.loads(body)
    bodies.reset()
