"""Every key of the single table is built here, and nowhere else.

Data keys start with the environment (`E#<env>#...`), so no query can cross tenants.
"""

from __future__ import annotations

from typing import Any


def api_key(key_hash: str) -> dict[str, str]:
    return {"PK": f"KEY#{key_hash}", "SK": "KEY"}


def environment(environment_id: str) -> dict[str, str]:
    return {"PK": f"ENV#{environment_id}", "SK": "ENV"}


def environments_listing() -> str:
    return "ENVS"


def environment_keys_listing(environment_id: str) -> str:
    return f"ENV#{environment_id}#KEYS"


def user(environment_id: str, user_id: str) -> dict[str, str]:
    return {"PK": f"E#{environment_id}#U#{user_id}", "SK": "U"}


def users_listing(environment_id: str) -> str:
    """GSI1 partition holding an environment's users, sorted by creation."""
    return f"E#{environment_id}#USERS"


def users_by_email(environment_id: str, email: str) -> str:
    """GSI2 partition holding the users of an environment with one email."""
    return f"E#{environment_id}#EMAIL#{email}"


def created_order(created_at: str, object_id: str) -> str:
    """Sort key ordering by creation time, ties broken by id."""
    return f"{created_at}#{object_id}"


def group(environment_id: str, group_id: str) -> dict[str, str]:
    return {"PK": f"E#{environment_id}#G#{group_id}", "SK": "G"}


def groups_listing(environment_id: str) -> str:
    """GSI1 partition holding an environment's groups, sorted by creation."""
    return f"E#{environment_id}#GROUPS"


MEMBERSHIP_PREFIX = "M#"


def membership(environment_id: str, user_id: str, group_id: str) -> dict[str, str]:
    """Memberships live in their user's partition, so a user's memberships are one Query."""
    return {"PK": user(environment_id, user_id)["PK"], "SK": f"{MEMBERSHIP_PREFIX}{group_id}"}


def group_members_listing(environment_id: str, group_id: str) -> str:
    """GSI1 partition holding a group's memberships, sorted by creation."""
    return f"E#{environment_id}#G#{group_id}#MEMBERS"


def memberships_listing(environment_id: str) -> str:
    """GSI2 partition holding every membership of an environment (condition filtering)."""
    return f"E#{environment_id}#MEMBERSHIPS"


def membership_in_listing(user_id: str, group_id: str) -> str:
    """A membership's sort key in `memberships_listing` (a user's memberships side by side)."""
    return f"{user_id}#{group_id}"


EVENT_PREFIX = "EV#"


def event(
    environment_id: str, user_id: str | None, group_id: str | None, order: str
) -> dict[str, str]:
    """Events live in their user's partition (or their group's, for group-only events)."""
    owner = user(environment_id, user_id) if user_id else group(environment_id, group_id or "")
    return {"PK": owner["PK"], "SK": event_sort_key(order)}


def event_sort_key(event_id: str) -> str:
    return f"{EVENT_PREFIX}{event_id}"


def event_id_of(key: dict[str, str], index: str | None) -> str:
    """The event id in an event's key (of the table, or of the index it was read from)."""
    if index is None:
        return key["SK"].removeprefix(EVENT_PREFIX)
    return key[f"{index}SK"]


def events_listing(environment_id: str) -> str:
    """GSI1 partition holding an environment's events, sorted by time."""
    return f"E#{environment_id}#EVENTS"


def events_by_name_listing(environment_id: str, name: str) -> str:
    """GSI2 partition holding the events of one name, sorted by time."""
    return f"E#{environment_id}#EVENTS#{name}"


def group_events_listing(environment_id: str, group_id: str) -> str:
    """GSI3 partition holding every event associated with a group."""
    return f"E#{environment_id}#G#{group_id}#EVENTS"


def definitions(environment_id: str) -> str:
    """One partition holds an environment's attribute and event definitions."""
    return f"E#{environment_id}#DEFS"


ATTRIBUTE_DEFINITION_PREFIX = "A#"
EVENT_DEFINITION_PREFIX = "E#"
EVENT_ATTRIBUTE_USE_PREFIX = "EA#"  # does not start with "E#": event definitions stay apart


def attribute_definition(environment_id: str, scope: str, name: str) -> dict[str, str]:
    return {"PK": definitions(environment_id), "SK": f"{ATTRIBUTE_DEFINITION_PREFIX}{scope}#{name}"}


def event_definition(environment_id: str, name: str) -> dict[str, str]:
    return {"PK": definitions(environment_id), "SK": f"{EVENT_DEFINITION_PREFIX}{name}"}


def event_attribute_use(
    environment_id: str, event_name: str, attribute_name: str
) -> dict[str, str]:
    """Records that events named `event_name` carry the attribute (names hold no `#`)."""
    return {
        "PK": definitions(environment_id),
        "SK": f"{event_attribute_uses_prefix(event_name)}{attribute_name}",
    }


def event_attribute_uses_prefix(event_name: str) -> str:
    return f"{EVENT_ATTRIBUTE_USE_PREFIX}{event_name}#"


def segment(environment_id: str, segment_id: str) -> dict[str, str]:
    return {"PK": f"E#{environment_id}#SEG#{segment_id}", "SK": "SEG"}


def segments_listing(environment_id: str) -> str:
    return f"E#{environment_id}#SEGMENTS"


PURGE_JOB_PREFIX = "PURGE#"


def purge_jobs(environment_id: str) -> str:
    """Partition of an environment's pending cascade deletes (see shared/store/purges)."""
    return f"E#{environment_id}#PURGE"


def purge_job(environment_id: str, job_id: str) -> dict[str, str]:
    return {"PK": purge_jobs(environment_id), "SK": f"{PURGE_JOB_PREFIX}{job_id}"}


def is_purge_job(item: dict[str, Any]) -> bool:
    return str(item.get("SK", "")).startswith(PURGE_JOB_PREFIX)


def webhook_subscriptions(environment_id: str) -> str:
    """One partition holds an environment's webhook subscriptions: the dispatcher reads it whole."""
    return f"E#{environment_id}#WEBHOOKS"


WEBHOOK_SUBSCRIPTION_PREFIX = "S#"


def webhook_subscription(environment_id: str, subscription_id: str) -> dict[str, str]:
    return {
        "PK": webhook_subscriptions(environment_id),
        "SK": f"{WEBHOOK_SUBSCRIPTION_PREFIX}{subscription_id}",
    }


WEBHOOK_DELIVERY_PREFIX = "D#"


def webhook_deliveries(environment_id: str, subscription_id: str) -> str:
    """Partition of one subscription's delivery log, sorted by notification time."""
    return f"E#{environment_id}#WHD#{subscription_id}"


def webhook_delivery(
    environment_id: str, subscription_id: str, created_at: str, delivery_id: str
) -> dict[str, str]:
    return {
        "PK": webhook_deliveries(environment_id, subscription_id),
        "SK": f"{WEBHOOK_DELIVERY_PREFIX}{created_at}#{delivery_id}",
    }


def webhook_delivery_lookup(
    environment_id: str, subscription_id: str, delivery_id: str
) -> dict[str, str]:
    """GSI2 key finding a delivery by id alone (its table sort key starts with a timestamp)."""
    return {
        "GSI2PK": f"{webhook_deliveries(environment_id, subscription_id)}#{delivery_id}",
        "GSI2SK": "D",
    }
