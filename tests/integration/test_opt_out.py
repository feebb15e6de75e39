"""Opting a user out of content and back in, through HTTP: no new sessions while out, and
each change reaches webhook subscribers as `user.updated`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.domain.attributes import UNSUBSCRIBED_ATTRIBUTE
from tests.integration.conftest import ApiClient
from tests.integration.content_support import author, ok, start
from tests.integration.receivers import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def test_an_opted_out_user_starts_no_sessions_until_it_resubscribes(api: ApiClient) -> None:
    flow = author(api)
    ok(api.request("POST", "/users", json={"id": "ann"}))

    out = ok(api.request("POST", "/users/ann/unsubscribe"))
    since = out["attributes"][UNSUBSCRIBED_ATTRIBUTE]
    assert since.endswith("+00:00")
    # Unsubscribing again keeps the first time.
    again = ok(api.request("POST", "/users/ann/unsubscribe"))
    assert again["attributes"][UNSUBSCRIBED_ATTRIBUTE] == since

    refused = api.request(
        "POST", "/content_sessions", json={"content_id": flow["id"], "user_id": "ann"}
    )
    assert refused.status == 400
    error = refused.json()["error"]
    assert error["code"] == "invalid_request"
    assert "unsubscribed" in error["message"] and "/users/ann/resubscribe" in error["message"]
    assert ok(api.request("GET", "/content_sessions", query=[("user_id", "ann")]))["data"] == []

    back = ok(api.request("POST", "/users/ann/resubscribe"))
    assert UNSUBSCRIBED_ATTRIBUTE not in back["attributes"]
    assert start(api, flow["id"], "ann")["status"] == "active"


def test_the_attribute_itself_opts_out_too(api: ApiClient) -> None:
    flow = author(api)
    body = {"id": "bob", "attributes": {UNSUBSCRIBED_ATTRIBUTE: "2025-01-01T00:00:00Z"}}
    ok(api.request("POST", "/users", json=body))
    body = {"content_id": flow["id"], "user_id": "bob"}
    assert api.request("POST", "/content_sessions", json=body).status == 400
    ok(
        api.request(
            "POST", "/users", json={"id": "bob", "attributes": {UNSUBSCRIBED_ATTRIBUTE: None}}
        )
    )
    assert api.request("POST", "/content_sessions", json=body).status == 200


def test_opting_out_an_unknown_user_is_a_404_and_creates_nothing(api: ApiClient) -> None:
    answer = api.request("POST", "/users/nobody/unsubscribe")
    assert answer.status == 404
    assert api.request("GET", "/users/nobody").status == 404
    assert api.request("POST", "/users/x/unsubscribe", json={"reason": "x"}).status == 400


def test_each_change_reaches_webhooks_as_user_updated(api: ApiClient, receiver: Receiver) -> None:
    ok(api.request("POST", "/users", json={"id": "cyd"}))
    ok(
        api.request(
            "POST", "/webhook_subscriptions", json={"url": receiver.url, "topics": ["user.updated"]}
        )
    )
    ok(api.request("POST", "/users/cyd/unsubscribe"))
    [first] = receiver.wait_for(lambda got: len(got) >= 1)
    data = first.json()["data"]
    assert first.json()["topic"] == "user.updated"
    assert data["previous_attributes"] == {UNSUBSCRIBED_ATTRIBUTE: None}
    assert set(data["updated_attributes"]) == {UNSUBSCRIBED_ATTRIBUTE}
    ok(api.request("POST", "/users/cyd/resubscribe"))
    second = receiver.wait_for(lambda got: len(got) >= 2)[1].json()["data"]
    assert second["updated_attributes"] == {UNSUBSCRIBED_ATTRIBUTE: None}
