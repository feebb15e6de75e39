"""Webhook subscriptions (the reference's "Webhook subscriptions"), plus extensions Userflow
lacks: secret rotation, test notifications, the delivery log, resending and recovery."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.clock import format_timestamp
from shared.domain.objects import deleted_object
from shared.domain.ordering import page_in_memory
from shared.http import returns
from shared.http.app import (
    create_app,
    environment_id,
    json_body,
    lambda_handler_for,
    query_params,
    request_path,
    response_holds_secret,
)
from shared.http.conventions import API_VERSION, parse_model
from shared.http.errors import BadRequest, NotFound
from shared.http.listing import ListSpec, list_object, parse_expand, parse_list_query
from shared.http.returns import EXTENSION
from shared.services import subscriptions as service
from shared.settings import get_settings
from shared.store import deliveries
from shared.store import subscriptions as store
from shared.store.deliveries import Delivery
from shared.store.subscriptions import Subscription
from shared.webhooks.addresses import validate_url
from shared.webhooks.topics import validate_topics

# Each route imports the body model it parses: pydantic loads with the first request that
# parses a body, not at cold start.
app = create_app()

SUBSCRIPTIONS_LIST = ListSpec(
    object_type="webhook_subscription", order_fields=frozenset({"created_at", "url"})
)
DELIVERIES_LIST = ListSpec(
    object_type="webhook_delivery",
    order_fields=frozenset({"created_at"}),
    default_order="-created_at",
)
NO_PARAMETERS: frozenset[str] = frozenset()

BASE = "/webhook_subscriptions"
ONE = f"{BASE}/<webhook_subscription_id>"


def _object(subscription: Subscription, *, with_secret: bool = False) -> dict[str, Any]:
    """The reference's object; `secret` only where the reference shows it (creation)."""
    found: dict[str, Any] = {
        "id": subscription.id,
        "object": "webhook_subscription",
        "api_version": subscription.api_version,
        "created_at": subscription.created_at,
        "disabled": subscription.disabled,
    }
    if with_secret:
        response_holds_secret(app)
        found["secret"] = subscription.secret
    return {
        **found,
        "topics": subscription.topics,
        "url": subscription.url,
        # Extensions.
        "standard_webhooks": subscription.standard_webhooks,
        "disabled_reason": subscription.disabled_reason,
        "disabled_at": subscription.disabled_at,
        "circuit": _circuit(subscription),
    }


def _circuit(subscription: Subscription) -> dict[str, Any] | None:
    """While the receiver keeps failing: its notifications wait, and when it is next tried."""
    circuit = subscription.circuit
    if circuit is None:
        return None
    return {
        "state": circuit.state,
        "opened_at": circuit.opened_at,
        "next_probe_at": circuit.next_probe_at,
        "failed_probes": circuit.probe_attempts,
    }


def _delivery_object(delivery: Delivery, *, load_large: bool = True) -> dict[str, Any]:
    """Lists leave out notifications too large to travel inline (`notification` is null,
    `notification_stored` true): a page of them could pass Lambda's 6 MB response."""
    return {
        "id": delivery.id,
        "object": "webhook_delivery",
        "attempts": delivery.attempts,
        "dropped_attempts": delivery.dropped_attempts,
        "created_at": delivery.created_at,
        "notification_id": delivery.notification_id,
        "notification": service.notification_of(delivery, load_large=load_large),
        "notification_stored": delivery.body_key is not None,
        "status": delivery.status,
        "topic": delivery.topic,
        "updated_at": delivery.updated_at,
        "webhook_subscription_id": delivery.subscription_id,
    }


def _no_parameters() -> None:
    parse_expand(query_params(app), "webhook_subscription", extra_allowed=NO_PARAMETERS)


def _optional_body() -> Any:
    """Extension actions take an optional JSON object: none means every default."""
    return json_body(app) if app.current_event.body else {}


def _api_version(value: Any) -> str:
    if value != API_VERSION:
        raise BadRequest(
            f"Invalid `api_version` {value!r}: the supported version is {API_VERSION}."
        )
    return API_VERSION


def _url(value: Any) -> str:
    return validate_url(value, allow_loopback=get_settings().webhooks_allow_loopback)


def _subscription(subscription_id: str) -> Subscription:
    subscription = store.get(environment_id(app), subscription_id)
    if subscription is None:
        raise NotFound(f"No webhook subscription with id {subscription_id!r}.")
    return subscription


def _enabled(subscription_id: str) -> Subscription:
    subscription = service.enabled(environment_id(app), subscription_id)
    if subscription is None:
        raise NotFound(f"No webhook subscription with id {subscription_id!r}.")
    return subscription


def _delivery(subscription_id: str, delivery_id: str) -> Delivery:
    delivery = deliveries.get_delivery(environment_id(app), subscription_id, delivery_id)
    if delivery is None:
        raise NotFound(
            f"No delivery with id {delivery_id!r} for webhook subscription {subscription_id!r}."
        )
    return delivery


@app.post(BASE)
def create_subscription() -> returns.WebhookSubscriptionWithSecret:
    from shared.http.models import WebhookSubscriptionBody

    _no_parameters()
    body = parse_model(WebhookSubscriptionBody, json_body(app))
    subscription = service.create(
        environment_id(app),
        api_version=_api_version(API_VERSION if body.api_version is None else body.api_version),
        topics=validate_topics(body.topics),
        url=_url(body.url),
        standard_webhooks=body.standard_webhooks,
    )
    return _object(subscription, with_secret=True)


@app.get(ONE)
def get_subscription(webhook_subscription_id: str) -> returns.WebhookSubscription:
    _no_parameters()
    return _object(_subscription(webhook_subscription_id))


@app.patch(ONE)
def update_subscription(webhook_subscription_id: str) -> returns.WebhookSubscription:
    from shared.http.models import WebhookSubscriptionPatchBody

    _no_parameters()
    body = parse_model(WebhookSubscriptionPatchBody, json_body(app))
    for name in sorted(body.model_fields_set):
        if getattr(body, name) is None:
            raise BadRequest(f"Invalid `{name}`: must not be null (leave it out to keep it).")
    subscription = service.update(
        environment_id(app),
        webhook_subscription_id,
        api_version=None if body.api_version is None else _api_version(body.api_version),
        topics=None if body.topics is None else validate_topics(body.topics),
        url=None if body.url is None else _url(body.url),
        disabled=body.disabled,
        standard_webhooks=body.standard_webhooks,
    )
    if subscription is None:
        raise NotFound(f"No webhook subscription with id {webhook_subscription_id!r}.")
    return _object(subscription)


@app.delete(ONE)
def delete_subscription(webhook_subscription_id: str) -> returns.Deleted:
    _no_parameters()
    store.delete(environment_id(app), webhook_subscription_id)
    return deleted_object("webhook_subscription", webhook_subscription_id)


@app.get(BASE)
def list_subscriptions() -> returns.WebhookSubscriptionList:
    params = query_params(app)
    query = parse_list_query(params, SUBSCRIPTIONS_LIST)
    # An environment has few subscriptions (one partition): sort and page them in memory.
    items, has_more = page_in_memory(
        store.list_all(environment_id(app)),
        order_by=query.order_by,
        limit=query.limit,
        starting_after=query.starting_after,
        value_of=getattr,
        id_of=lambda s: s.id,
        tie_breaker=lambda s: (s.created_at, s.id),
    )
    return list_object(
        [_object(s) for s in items],
        has_more=has_more,
        path=request_path(app),
        params=params,
        last_id=items[-1].id if items else None,
    )


@app.post(f"{ONE}/rotate_secret", openapi_extensions=EXTENSION)
def rotate_secret(webhook_subscription_id: str) -> returns.WebhookSubscriptionWithSecret:
    from shared.http.models import RotateSecretBody

    _no_parameters()
    body = parse_model(RotateSecretBody, _optional_body())
    rotated = store.rotate_secret(
        environment_id(app), webhook_subscription_id, body.grace_period_seconds
    )
    if rotated is None:
        raise NotFound(f"No webhook subscription with id {webhook_subscription_id!r}.")
    # Read back (consistently): the object carries the new secret, as creation shows the first.
    return _object(_subscription(webhook_subscription_id), with_secret=True)


@app.post(f"{ONE}/test", openapi_extensions=EXTENSION)
def send_test(webhook_subscription_id: str) -> returns.WebhookDelivery:
    """A `webhook.test` notification to this subscription only, whatever its topics."""
    from shared.http.models import Body

    _no_parameters()
    parse_model(Body, _optional_body())  # an empty object: any field is a 400
    subscription = _enabled(webhook_subscription_id)
    return _delivery_object(service.send_test(subscription, {"object": _object(subscription)}))


@app.get(f"{ONE}/deliveries", openapi_extensions=EXTENSION)
def list_deliveries(webhook_subscription_id: str) -> returns.WebhookDeliveryList:
    params = query_params(app)
    query = parse_list_query(params, DELIVERIES_LIST)
    _subscription(webhook_subscription_id)
    page = deliveries.list_page(
        environment_id(app),
        webhook_subscription_id,
        limit=query.limit,
        starting_after=query.starting_after,
        descending=query.order_by[0].descending,
    )
    return list_object(
        [_delivery_object(d, load_large=False) for d in page.items],
        has_more=page.has_more,
        path=request_path(app),
        params=params,
        last_id=page.items[-1].id if page.items else None,
    )


@app.get(f"{ONE}/deliveries/<delivery_id>", openapi_extensions=EXTENSION)
def get_delivery(webhook_subscription_id: str, delivery_id: str) -> returns.WebhookDelivery:
    _no_parameters()
    _subscription(webhook_subscription_id)
    return _delivery_object(_delivery(webhook_subscription_id, delivery_id))


@app.post(f"{ONE}/deliveries/<delivery_id>/resend", openapi_extensions=EXTENSION)
def resend_delivery(webhook_subscription_id: str, delivery_id: str) -> returns.WebhookDelivery:
    """Sends the notification again as first sent, with a new 3-day retry window."""
    from shared.http.models import Body

    _no_parameters()
    parse_model(Body, _optional_body())  # an empty object: any field is a 400
    subscription = _enabled(webhook_subscription_id)
    delivery = _delivery(webhook_subscription_id, delivery_id)
    return _delivery_object(service.resend(subscription, delivery))


@app.post(f"{ONE}/recover", openapi_extensions=EXTENSION)
def recover(webhook_subscription_id: str) -> returns.WebhookRecovery:
    """Resends every failed or dead delivery of notifications created since `since`.

    At most `RECOVER_BATCH` a call, oldest first; `has_more` says to call again (resent
    deliveries turn pending, so the same call continues where the last one stopped).
    """
    from shared.http.models import RecoverBody

    _no_parameters()
    body = parse_model(RecoverBody, json_body(app))
    since = _timestamp(body.since, "since")
    recovery = service.recover(_enabled(webhook_subscription_id), since)
    return {
        "object": "webhook_recovery",
        "webhook_subscription_id": webhook_subscription_id,
        "since": since,
        "resent_count": recovery.resent_count,
        "has_more": recovery.has_more,
    }


def _timestamp(text: str, name: str) -> str:
    """An ISO 8601 date time (an offset, or UTC without one) in the stored format."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"Invalid `{name}` {text[:50]!r}: must be an ISO 8601 date time, "
            "e.g. 2022-10-17T12:34:56.000+00:00."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_timestamp(moment)


lambda_handler = lambda_handler_for(app)
