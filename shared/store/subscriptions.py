"""Webhook subscriptions: every DynamoDB access to them, their failing streak and circuit.

Subscriptions share one partition per environment (`E#<env>#WEBHOOKS`), so dispatch reads
them all with one Query. A subscription whose receiver keeps failing gets an open circuit
(`circuit_state`): its notifications wait in its backlog (shared/store/backlog.py) and one
probe at a time, scheduled by `next_probe_at` (also its GSI3 key, so the probe function finds
due circuits with one Query), tests the receiver. Every state change is one conditional
UpdateItem, so concurrent deliveries and probes never undo each other.

Secrets are stored sealed (shared/webhooks/sealing.py: KMS envelope encryption) and opened
only when read (`Subscription.secret`): listing or showing subscriptions never decrypts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError

from shared.clock import format_timestamp, now_iso
from shared.ids import new_id
from shared.store import dynamo, keys
from shared.webhooks import sealing
from shared.webhooks.signing import new_secret

CircuitState = Literal["open", "draining"]
# Circuit bookkeeping removed when a circuit closes (the failing streak goes with it).
_CIRCUIT_FIELDS = (
    "circuit_state",
    "circuit_opened_at",
    "probe_attempts",
    "next_probe_at",
    "GSI3PK",
    "GSI3SK",
)
_STREAK_FIELDS = ("failing_since", "consecutive_failures", "slow_until")


@dataclass(frozen=True)
class Circuit:
    state: CircuitState
    opened_at: str
    next_probe_at: str
    probe_attempts: int
    # Bumped by every backlog write, so a drain closes the circuit only when it has seen all.
    backlog_seq: int


@dataclass(frozen=True)
class Subscription:
    environment_id: str
    id: str
    api_version: str
    created_at: str
    disabled: bool
    topics: list[str]
    url: str
    # As stored: sealed, or plain text from before encryption (see `secret`).
    stored_secret: str
    standard_webhooks: bool = False
    # Rotation grace: the old secret still signs until this time.
    stored_previous_secret: str | None = None
    previous_secret_expires_at: str | None = None
    # Set by the delivery function: first failure of the current failing streak, and how many
    # attempts in a row have failed.
    failing_since: str | None = None
    consecutive_failures: int = 0
    circuit: Circuit | None = None
    # Set only when Waymark disabled the subscription itself.
    disabled_reason: str | None = None
    disabled_at: str | None = None

    @property
    def secret(self) -> str:
        """The signing secret, in clear (opens it: a KMS call the first time a container
        meets its data key)."""
        return sealing.unseal(self.stored_secret, _sealing_context(self.environment_id, self.id))

    @property
    def previous_secret(self) -> str | None:
        if self.stored_previous_secret is None:
            return None
        context = _sealing_context(self.environment_id, self.id)
        return sealing.unseal(self.stored_previous_secret, context)


def _sealing_context(environment_id: str, subscription_id: str) -> str:
    """What a sealed secret is bound to: its subscription."""
    return f"{environment_id}/{subscription_id}"


def _subscription(item: dict[str, Any]) -> Subscription:
    circuit = None
    if item.get("circuit_state") in ("open", "draining"):
        circuit = Circuit(
            state=item["circuit_state"],
            opened_at=item["circuit_opened_at"],
            next_probe_at=item["next_probe_at"],
            probe_attempts=int(item.get("probe_attempts", 0)),
            backlog_seq=int(item.get("backlog_seq", 0)),
        )
    return Subscription(
        environment_id=keys.environment_of_subscriptions(item["PK"]),
        id=item["id"],
        api_version=item["api_version"],
        created_at=item["created_at"],
        disabled=bool(item.get("disabled", False)),
        topics=list(item.get("topics") or []),
        url=item["url"],
        stored_secret=item["secret"],
        standard_webhooks=bool(item.get("standard_webhooks", False)),
        stored_previous_secret=item.get("previous_secret"),
        previous_secret_expires_at=item.get("previous_secret_expires_at"),
        failing_since=item.get("failing_since"),
        consecutive_failures=int(item.get("consecutive_failures", 0)),
        circuit=circuit,
        disabled_reason=item.get("disabled_reason"),
        disabled_at=item.get("disabled_at"),
    )


def create(
    environment_id: str,
    *,
    api_version: str,
    topics: list[str],
    url: str,
    standard_webhooks: bool = False,
) -> Subscription:
    """The new subscription; its `secret` opens without KMS in this container, which made
    the data key (the API shows it once, at creation)."""
    subscription_id = new_id()
    secret = new_secret()
    subscription = Subscription(
        environment_id=environment_id,
        id=subscription_id,
        api_version=api_version,
        created_at=now_iso(),
        disabled=False,
        topics=topics,
        url=url,
        stored_secret=sealing.seal(secret, _sealing_context(environment_id, subscription_id)),
        standard_webhooks=standard_webhooks,
    )
    dynamo.client().put_item(
        TableName=dynamo.table_name(),
        Item=dynamo.to_item(
            {
                **keys.webhook_subscription(environment_id, subscription.id),
                "id": subscription.id,
                "api_version": api_version,
                "created_at": subscription.created_at,
                "disabled": False,
                "topics": topics,
                "url": url,
                "secret": subscription.stored_secret,
                "standard_webhooks": standard_webhooks,
            }
        ),
        ConditionExpression="attribute_not_exists(PK)",
    )
    return subscription


def get(environment_id: str, subscription_id: str) -> Subscription | None:
    found = dynamo.client().get_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.webhook_subscription(environment_id, subscription_id)),
        ConsistentRead=True,
    )
    return _subscription(dynamo.from_item(found["Item"])) if "Item" in found else None


def update(
    environment_id: str,
    subscription_id: str,
    *,
    api_version: str | None = None,
    topics: list[str] | None = None,
    url: str | None = None,
    disabled: bool | None = None,
    standard_webhooks: bool | None = None,
) -> Subscription | None:
    """Changes the given fields only; None when the subscription does not exist.

    Re-enabling (`disabled=False`) also forgets an automatic disable and the failing streak.
    """
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("api_version", api_version),
            ("topics", topics),
            ("url", url),
            ("disabled", disabled),
            ("standard_webhooks", standard_webhooks),
        )
        if value is not None
    }
    removals = ("disabled_reason", "disabled_at", *_STREAK_FIELDS) if disabled is False else ()
    if not changes:
        return get(environment_id, subscription_id)
    return _update(environment_id, subscription_id, changes, removals)


def _update(
    environment_id: str,
    subscription_id: str,
    changes: dict[str, Any],
    removals: tuple[str, ...] = (),
) -> Subscription | None:
    item = dynamo.update_existing(
        keys.webhook_subscription(environment_id, subscription_id), changes, removals
    )
    return _subscription(item) if item is not None else None


def delete(environment_id: str, subscription_id: str) -> None:
    """Idempotent. The delivery log and any backlog are left to expire (TTL) rather than
    deleted item by item; nothing is sent for a deleted subscription."""
    dynamo.client().delete_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.webhook_subscription(environment_id, subscription_id)),
    )


def list_all(environment_id: str) -> list[Subscription]:
    """Every subscription of the environment, in id order: one strongly consistent Query
    (paged past 1 MB), so a subscription whose write was acknowledged is always in it."""
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": {"S": keys.webhook_subscriptions(environment_id)},
            ":prefix": {"S": keys.WEBHOOK_SUBSCRIPTION_PREFIX},
        },
        "ConsistentRead": True,
    }
    found: list[Subscription] = []
    while True:
        page = dynamo.client().query(**arguments)
        found.extend(_subscription(dynamo.from_item(i)) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return found
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def count(environment_id: str) -> int:
    """How many subscriptions the environment has (one Query that returns no items)."""
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": {"S": keys.webhook_subscriptions(environment_id)},
            ":prefix": {"S": keys.WEBHOOK_SUBSCRIPTION_PREFIX},
        },
        "Select": "COUNT",
        "ConsistentRead": True,
    }
    total = 0
    while True:
        page = dynamo.client().query(**arguments)
        total += int(page.get("Count", 0))
        if "LastEvaluatedKey" not in page:
            return total
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def rotate_secret(environment_id: str, subscription_id: str, grace_seconds: int) -> str | None:
    """A new secret (returned in clear, stored sealed); the old one keeps signing for
    `grace_seconds`. None when not found."""
    secret = new_secret()
    now = datetime.now(UTC)
    sealed = sealing.seal(secret, _sealing_context(environment_id, subscription_id))
    values: dict[str, Any] = {":secret": sealed}
    if grace_seconds > 0:
        # Right-hand sides read the item as it was, so the old secret moves aside atomically.
        expression = (
            "SET previous_secret = secret, previous_secret_expires_at = :expires, secret = :secret"
        )
        values[":expires"] = format_timestamp(now + timedelta(seconds=grace_seconds))
    else:
        expression = "SET secret = :secret REMOVE previous_secret, previous_secret_expires_at"
    return (
        secret
        if _conditional_update(
            environment_id, subscription_id, expression, values, "attribute_exists(PK)"
        )
        else None
    )


def seal_stored_secrets(environment_id: str) -> int:
    """Seals the secrets of the environment's subscriptions stored before encryption (each
    secret keeps its value); how many items changed. Each update is conditional on the
    stored text it read, so a rotation meanwhile is never undone."""
    sealed = 0
    for subscription in list_all(environment_id):
        context = _sealing_context(environment_id, subscription.id)
        changes: dict[str, str] = {}
        for field, stored in (
            ("secret", subscription.stored_secret),
            ("previous_secret", subscription.stored_previous_secret),
        ):
            if stored is not None and not sealing.is_sealed(stored):
                changes[field] = stored
        if not changes:
            continue
        values = {
            **{f":new_{field}": sealing.seal(plain, context) for field, plain in changes.items()},
            **{f":old_{field}": plain for field, plain in changes.items()},
        }
        sealed += (
            _conditional_update(
                environment_id,
                subscription.id,
                "SET " + ", ".join(f"{field} = :new_{field}" for field in changes),
                values,
                " AND ".join(f"{field} = :old_{field}" for field in changes),
            )
            is not None
        )
    return sealed


# --- the failing streak -----------------------------------------------------------------------


def record_failure(environment_id: str, subscription_id: str, now: str) -> Subscription | None:
    """Counts a failed attempt and starts the failing streak unless one runs. Returns the
    subscription as it now is (None: gone)."""
    return _conditional_update(
        environment_id,
        subscription_id,
        "SET failing_since = if_not_exists(failing_since, :now) ADD consecutive_failures :one",
        {":now": now, ":one": 1},
        "attribute_exists(PK)",
    )


def record_success(environment_id: str, subscription_id: str) -> None:
    """Ends a failing streak (the caller knows there is one: a conditional miss still costs a
    write)."""
    _conditional_update(
        environment_id,
        subscription_id,
        "REMOVE " + ", ".join(_STREAK_FIELDS),
        {},
        " OR ".join(f"attribute_exists({name})" for name in _STREAK_FIELDS),
    )


def mark_slow(environment_id: str, subscription_id: str, *, now: str, until: str) -> bool:
    """Notes an attempt that is slow to answer, until its deadline; True when another slow
    attempt's note was still running (two at once: the receiver is presumed hanging)."""
    try:
        result = dynamo.client().update_item(
            TableName=dynamo.table_name(),
            Key=dynamo.to_item(keys.webhook_subscription(environment_id, subscription_id)),
            UpdateExpression="SET slow_until = :until",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=dynamo.to_item({":until": until}),
            ReturnValues="UPDATED_OLD",
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    before = dynamo.from_item(result.get("Attributes") or {}).get("slow_until")
    return isinstance(before, str) and before > now


def disable(environment_id: str, subscription_id: str, reason: str, at: str) -> Subscription | None:
    """Disables automatically, recording why and when (None when not found)."""
    return _update(
        environment_id,
        subscription_id,
        {"disabled": True, "disabled_reason": reason, "disabled_at": at},
    )


# --- the circuit ------------------------------------------------------------------------------


def open_circuit(
    environment_id: str, subscription_id: str, *, now: str, next_probe_at: str
) -> bool:
    """Opens the circuit (from closed, or from draining when the receiver failed again);
    True when this call opened it, False when it was already open or the subscription is
    gone."""
    return (
        _conditional_update(
            environment_id,
            subscription_id,
            "SET circuit_state = :open, circuit_opened_at = :now, probe_attempts = :zero, "
            "next_probe_at = :next, GSI3PK = :gsi_pk, GSI3SK = :gsi_sk",
            {
                ":open": "open",
                ":draining": "draining",
                ":now": now,
                ":zero": 0,
                ":next": next_probe_at,
                **_probe_index(environment_id, subscription_id, next_probe_at),
            },
            "attribute_exists(PK) AND "
            "(attribute_not_exists(circuit_state) OR circuit_state = :draining)",
        )
        is not None
    )


def due_circuits(now: str, *, limit: int) -> list[tuple[str, str, str]]:
    """Open circuits whose next probe is due: (environment id, subscription id, next_probe_at),
    the longest overdue first."""
    result = dynamo.client().query(
        TableName=dynamo.table_name(),
        IndexName="GSI3",
        KeyConditionExpression="GSI3PK = :pk AND GSI3SK < :bound",
        ExpressionAttributeValues=dynamo.to_item(
            {":pk": keys.OPEN_CIRCUITS, ":bound": keys.due_circuits_bound(now)}
        ),
        Limit=limit,
    )
    return [
        (keys.environment_of_subscriptions(item["PK"]), item["id"], item["next_probe_at"])
        for item in (dynamo.from_item(i) for i in result.get("Items", []))
    ]


def claim_probe(
    environment_id: str, subscription_id: str, *, seen_next_probe_at: str, lease_until: str
) -> Subscription | None:
    """Takes the due probe for this run: moves `next_probe_at` to `lease_until` if it is still
    what the caller saw, so two probe runs never probe one receiver at once (and a run that
    dies leaves the probe due again when the lease ends). None when someone else has it."""
    return _conditional_update(
        environment_id,
        subscription_id,
        "SET next_probe_at = :lease, GSI3SK = :gsi_sk",
        {
            ":lease": lease_until,
            ":seen": seen_next_probe_at,
            ":gsi_sk": _probe_index(environment_id, subscription_id, lease_until)[":gsi_sk"],
        },
        "attribute_exists(circuit_state) AND next_probe_at = :seen",
    )


def schedule_probe(
    environment_id: str, subscription_id: str, *, next_probe_at: str, count_attempt: bool
) -> None:
    """When the circuit is next looked at; `count_attempt` after a failed probe (its backoff)."""
    expression = "SET next_probe_at = :next, GSI3SK = :gsi_sk"
    values: dict[str, Any] = {
        ":next": next_probe_at,
        ":gsi_sk": _probe_index(environment_id, subscription_id, next_probe_at)[":gsi_sk"],
    }
    if count_attempt:
        expression += " ADD probe_attempts :one"
        values[":one"] = 1
    _conditional_update(
        environment_id, subscription_id, expression, values, "attribute_exists(circuit_state)"
    )


def start_draining(
    environment_id: str, subscription_id: str, *, lease_until: str
) -> Subscription | None:
    """The receiver answered: its backlog goes back to the shared queue. The caller keeps its
    probe lease while it drains; a drain cut short is due again when it asks (or when the
    lease ends, if it died). None if the circuit is no longer open."""
    return _conditional_update(
        environment_id,
        subscription_id,
        "SET circuit_state = :draining, next_probe_at = :lease, GSI3SK = :gsi_sk "
        "REMOVE " + ", ".join(_STREAK_FIELDS),
        {
            ":draining": "draining",
            ":open": "open",
            ":lease": lease_until,
            ":gsi_sk": _probe_index(environment_id, subscription_id, lease_until)[":gsi_sk"],
        },
        "circuit_state = :open",
    )


def close_circuit(environment_id: str, subscription_id: str, *, backlog_seq: int) -> bool:
    """Closes the circuit if no backlog write happened since the caller saw `backlog_seq`
    (with an empty backlog). False: something was added meanwhile, or it was closed already.
    """
    condition = "attribute_exists(circuit_state) AND "
    condition += "backlog_seq = :seq" if backlog_seq else "attribute_not_exists(backlog_seq)"
    values: dict[str, Any] = {":seq": backlog_seq} if backlog_seq else {}
    return (
        _conditional_update(
            environment_id,
            subscription_id,
            "REMOVE " + ", ".join((*_CIRCUIT_FIELDS, *_STREAK_FIELDS)),
            values,
            condition,
        )
        is not None
    )


def _probe_index(environment_id: str, subscription_id: str, next_probe_at: str) -> dict[str, str]:
    index = keys.open_circuit_index(environment_id, subscription_id, next_probe_at)
    return {":gsi_pk": index["GSI3PK"], ":gsi_sk": index["GSI3SK"]}


def count_entries(environment_id: str, subscription_id: str, entries: int) -> bool:
    """Counts entries just written to the backlog, if the circuit is still open (False when
    it is not: see shared/store/backlog.py)."""
    return (
        _conditional_update(
            environment_id,
            subscription_id,
            "ADD backlog_seq :entries",
            {":entries": entries, ":open": "open"},
            "circuit_state = :open",
        )
        is not None
    )


def _conditional_update(
    environment_id: str,
    subscription_id: str,
    expression: str,
    values: dict[str, Any],
    condition: str,
) -> Subscription | None:
    """One UpdateItem under `condition`; the item as it now is, or None when the condition
    did not hold (values the expressions do not use are left out, as DynamoDB requires)."""
    named = set(re.findall(r":\w+", f"{expression} {condition}"))
    used = {name: value for name, value in values.items() if name in named}
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "Key": dynamo.to_item(keys.webhook_subscription(environment_id, subscription_id)),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ReturnValues": "ALL_NEW",
    }
    if used:
        arguments["ExpressionAttributeValues"] = dynamo.to_item(used)
    try:
        result = dynamo.client().update_item(**arguments)
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    return _subscription(dynamo.from_item(result["Attributes"]))
