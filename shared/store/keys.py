"""Every key of the single table is built here, and nowhere else (and read back here: the
stream's images are decoded with `data_key_of`).

Data keys start with the environment (`E#<env>#...`), so no query can cross tenants.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Literal


def api_key(key_hash: str) -> dict[str, str]:
    return {"PK": f"KEY#{key_hash}", "SK": "KEY"}


def environment(environment_id: str) -> dict[str, str]:
    return {"PK": f"ENV#{environment_id}", "SK": "ENV"}


def environments_listing() -> str:
    return "ENVS"


def environment_keys_listing(environment_id: str) -> str:
    return f"ENV#{environment_id}#KEYS"


USER_SORT_KEY = "U"
GROUP_SORT_KEY = "G"


def user(environment_id: str, user_id: str) -> dict[str, str]:
    return {"PK": f"E#{environment_id}#U#{user_id}", "SK": USER_SORT_KEY}


def users_listing(environment_id: str) -> str:
    """GSI1 partition holding an environment's users, sorted by creation."""
    return f"E#{environment_id}#USERS"


def users_by_email(environment_id: str, email: str) -> str:
    """GSI2 partition holding the users of an environment with one email."""
    return f"E#{environment_id}#EMAIL#{email}"


def created_order(created_at: str, object_id: str) -> str:
    """Sort key ordering by creation time, ties broken by id."""
    return f"{created_at}#{object_id}"


# User search: an entry per searched value (id, email, name) in the user's partition, in a GSI2
# partition per first folded character, sorted by the folded text (shared/domain/search.py).
SEARCH_TERM_PREFIX = "ST#"
# Below every character the folded text can hold (control characters are folded away), so a
# text sorts before its longer continuations: `ann` + separator < `anna`.
SEARCH_SEPARATOR = "\x01"


def search_entry(environment_id: str, user_id: str, field: str) -> dict[str, str]:
    return {"PK": user(environment_id, user_id)["PK"], "SK": f"{SEARCH_TERM_PREFIX}{field}"}


def user_search_listing(environment_id: str, term: str) -> str:
    """GSI2 partition holding the search entries whose text starts with `term`'s first
    character: a query reads one, and writes spread over many."""
    return f"E#{environment_id}#SEARCH#{term[0]}"


def search_order(term: str, field: str, user_id: str) -> str:
    """A search entry's GSI2SK: text, then field, then user id."""
    return SEARCH_SEPARATOR.join((term, field, user_id))


def search_order_parts(sort: str) -> tuple[str, str, str]:
    """(term, field, user id) of a search entry's GSI2SK (ids hold no control characters)."""
    term, field, user_id = sort.split(SEARCH_SEPARATOR, 2)
    return term, field, user_id


# Users in the order of an attribute (GET /users?order_by=attributes.<name>): an entry per
# user and attribute in the user's partition, `O#<attribute>`, in GSI3 under one of
# ORDER_SHARDS keys (every upsert may move an entry: docs/scaling.md).
ORDERED_ATTRIBUTES = ("name", "signed_up_at", "last_seen_at")
ORDER_SHARDS = 8
ORDER_ENTRY_PREFIX = "O#"


def order_entry(environment_id: str, user_id: str, attribute: str) -> dict[str, str]:
    return {"PK": user(environment_id, user_id)["PK"], "SK": f"{ORDER_ENTRY_PREFIX}{attribute}"}


def order_listing(environment_id: str, attribute: str, user_id: str) -> str:
    """GSI3 partition a user's entry for `attribute` is written to: its shard."""
    return f"E#{environment_id}#ORDER#{attribute}#{shard_of(user_id, ORDER_SHARDS)}"


def order_listings(environment_id: str, attribute: str) -> list[str]:
    return [f"E#{environment_id}#ORDER#{attribute}#{shard}" for shard in range(ORDER_SHARDS)]


def attribute_order(sortable_value: str, created_at: str, user_id: str) -> str:
    """An ordered entry's GSI3SK: the value (shared/domain/sortable.py), then creation, then
    the id, so ties come in creation order and every key is unique."""
    return "\x01".join((sortable_value, created_at, user_id))


def group(environment_id: str, group_id: str) -> dict[str, str]:
    return {"PK": f"E#{environment_id}#G#{group_id}", "SK": GROUP_SORT_KEY}


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


# Every event lands in one GSI1 key of its environment and one GSI2 key of its name: at 2,000
# events a second that is twice what one partition takes (docs/scaling.md). Each is written
# in one of EVENT_SHARDS shards (by the event id's hash) and read from all of them, merged.
EVENT_SHARDS = 8


def shard_of(item_id: str, shards: int) -> int:
    """The shard an item id writes to: stable across processes (not Python's `hash`)."""
    return zlib.crc32(item_id.encode()) % shards


def events_listing(environment_id: str) -> str:
    """GSI1 partition of an environment's events before sharding (still read: old events
    keep it), sorted by time."""
    return f"E#{environment_id}#EVENTS"


def events_listing_shard(environment_id: str, event_id: str) -> str:
    """GSI1 partition an event is written to: its shard of the environment's events."""
    return f"{events_listing(environment_id)}#{shard_of(event_id, EVENT_SHARDS)}"


def events_listings(environment_id: str) -> list[str]:
    """Every GSI1 partition of an environment's events: the shards and the unsharded one."""
    base = events_listing(environment_id)
    return [f"{base}#{shard}" for shard in range(EVENT_SHARDS)] + [base]


def events_by_name_listing(environment_id: str, name: str) -> str:
    """GSI2 partition of the events of one name before sharding (still read), by time."""
    return f"E#{environment_id}#EVENTS#{name}"


def events_by_name_listing_shard(environment_id: str, name: str, event_id: str) -> str:
    """GSI2 partition an event is written to: its shard of its name's events (names hold no
    `#`, so no name's key is another's shard)."""
    return f"{events_by_name_listing(environment_id, name)}#{shard_of(event_id, EVENT_SHARDS)}"


def events_by_name_listings(environment_id: str, name: str) -> list[str]:
    base = events_by_name_listing(environment_id, name)
    return [f"{base}#{shard}" for shard in range(EVENT_SHARDS)] + [base]


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


# --- content, versions, content sessions -----------------------------------------------------


def content(environment_id: str, content_id: str) -> dict[str, str]:
    return {"PK": f"E#{environment_id}#C#{content_id}", "SK": "C"}


def content_listing(environment_id: str) -> str:
    """GSI1 partition holding an environment's content, sorted by creation."""
    return f"E#{environment_id}#CONTENT"


def content_by_type_listing(environment_id: str, content_type: str) -> str:
    """GSI2 partition holding an environment's content of one type, sorted by creation."""
    return f"E#{environment_id}#CONTENT#{content_type}"


def content_version(environment_id: str, version_id: str) -> dict[str, str]:
    """Versions have partitions of their own, so any version (a session's, a content's draft
    or published one) is one GetItem away, and a page's are one BatchGetItem."""
    return {"PK": f"E#{environment_id}#CV#{version_id}", "SK": "CV"}


def content_versions_listing(environment_id: str, content_id: str) -> str:
    """GSI1 partition holding one content's versions, sorted by number."""
    return f"E#{environment_id}#C#{content_id}#VERSIONS"


def version_number_order(number: int) -> str:
    """A version's GSI1SK: fixed-width, so the text order is the number order."""
    return f"{number:08d}"


def content_session(environment_id: str, session_id: str) -> dict[str, str]:
    """Sessions have partitions of their own, so every step finds its session by id alone
    with a strongly consistent read."""
    return {"PK": f"E#{environment_id}#CS#{session_id}", "SK": "CS"}


def sessions_listing(environment_id: str) -> str:
    """GSI1 partition holding an environment's sessions; the sort key is the session id,
    which is time-ordered (so also the creation order)."""
    return f"E#{environment_id}#SESSIONS"


def sessions_by_activity_listing(environment_id: str) -> str:
    """GSI2 partition holding an environment's sessions by last activity."""
    return f"E#{environment_id}#SESSIONS#ACTIVITY"


def activity_order(last_activity_at: str, session_id: str) -> str:
    return f"{last_activity_at}#{session_id}"


def session_id_of_activity_order(sort: str) -> str:
    return sort.rsplit("#", 1)[1]  # timestamps hold no '#'


def content_sessions_listing(environment_id: str, content_id: str) -> str:
    """GSI3 partition holding one content's sessions, sorted by session id (creation)."""
    return f"E#{environment_id}#C#{content_id}#SESSIONS"


# A user's partition holds its "flow history": an item per session (the user's sessions in
# creation order, and what the cascade follows to delete them with the user), the answers
# of its sessions, and one lock per content it has an active session of.
USER_SESSION_PREFIX = "CS#"
SESSION_LOCK_PREFIX = "CL#"
SESSION_ANSWER_PREFIX = "CSA#"  # does not start with "CS#": a user's sessions stay apart


def user_session(environment_id: str, user_id: str, session_id: str) -> dict[str, str]:
    return {"PK": user(environment_id, user_id)["PK"], "SK": f"{USER_SESSION_PREFIX}{session_id}"}


def session_id_of_user_session(sort: str) -> str | None:
    """The session a user's partition item stands for, if it is one (`user_session`)."""
    return sort.removeprefix(USER_SESSION_PREFIX) if sort.startswith(USER_SESSION_PREFIX) else None


def session_lock(environment_id: str, user_id: str, content_id: str) -> dict[str, str]:
    """Exists while the user has an active session of the content: the one-active rule is a
    conditional write of this item."""
    return {"PK": user(environment_id, user_id)["PK"], "SK": f"{SESSION_LOCK_PREFIX}{content_id}"}


def session_answers_prefix(session_id: str) -> str:
    return f"{SESSION_ANSWER_PREFIX}{session_id}#"


def session_answer(
    environment_id: str, user_id: str, session_id: str, question_cvid: str
) -> dict[str, str]:
    """One answer per question: a later answer replaces it."""
    return {
        "PK": user(environment_id, user_id)["PK"],
        "SK": f"{session_answers_prefix(session_id)}{question_cvid}",
    }


IDEMPOTENCY_SORT_KEY = "IDEM"


def idempotency_record(environment_id: str, key_digest: str) -> dict[str, str]:
    """The record of one Idempotency-Key (its SHA-256, hex) in one environment: a partition of
    its own, so keys never share a hot partition. Its sort key matches no stream filter
    (`U`, `G`, `EV#`, `PURGE#`): claiming a key notifies nothing."""
    return {"PK": f"E#{environment_id}#IDEM#{key_digest}", "SK": IDEMPOTENCY_SORT_KEY}


# Import and export jobs: a partition per job holding the job and the bad rows its import
# reported; GSI1 lists an environment's jobs by creation.
JOB_ERROR_PREFIX = "ERR#"


def transfer_job(environment_id: str, job_id: str) -> dict[str, str]:
    return {"PK": f"E#{environment_id}#JOB#{job_id}", "SK": "JOB"}


def transfer_jobs_listing(environment_id: str) -> str:
    return f"E#{environment_id}#JOBS"


def job_error(environment_id: str, job_id: str, row: int) -> dict[str, str]:
    """A bad row of an import, by its line number (fixed width: the text order is the
    number order)."""
    return {"PK": transfer_job(environment_id, job_id)["PK"], "SK": job_error_sort_key(row)}


def job_error_sort_key(row: int) -> str:
    return f"{JOB_ERROR_PREFIX}{row:012d}"


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


def environment_of_subscriptions(partition: str) -> str:
    """The environment whose subscriptions partition this is (`webhook_subscriptions`)."""
    prefix, environment_id, suffix = partition.split("#")
    if (prefix, suffix) != ("E", "WEBHOOKS"):
        raise ValueError(f"not a webhook subscriptions partition: {partition!r}")
    return environment_id


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


# A subscription whose receiver keeps failing has an open circuit: its notifications wait in a
# backlog partition of their own, and the circuit sits in one GSI3 partition ordered by when it
# is next probed, so the probe function finds the due ones with one Query. That partition spans
# environments on purpose: it is read only by the probe function, never by the API.
OPEN_CIRCUITS = "WEBHOOK_CIRCUITS"
WEBHOOK_BACKLOG_PREFIX = "B#"


def open_circuit_index(
    environment_id: str, subscription_id: str, next_probe_at: str
) -> dict[str, str]:
    return {
        "GSI3PK": OPEN_CIRCUITS,
        "GSI3SK": f"{next_probe_at}#{environment_id}#{subscription_id}",
    }


def due_circuits_bound(now: str) -> str:
    """GSI3SK upper bound (exclusive) of the circuits due at `now`: "$" sorts right after "#"."""
    return f"{now}$"


def webhook_backlog(environment_id: str, subscription_id: str) -> str:
    """Partition of one subscription's backlog, oldest retry window first."""
    return f"E#{environment_id}#WHB#{subscription_id}"


def webhook_backlog_entry(
    environment_id: str, subscription_id: str, window_started_at: float, delivery_id: str
) -> dict[str, str]:
    return {
        "PK": webhook_backlog(environment_id, subscription_id),
        "SK": f"{webhook_backlog_window_bound(window_started_at)}#{delivery_id}",
    }


def webhook_backlog_window_bound(window_started_at: float) -> str:
    """The sort key prefix of entries whose window started at `window_started_at` (fixed-width
    milliseconds, so the text order is the time order)."""
    return f"{WEBHOOK_BACKLOG_PREFIX}{int(window_started_at * 1000):015d}"


# --- reading keys back (stream images) -----------------------------------------------------

DataKind = Literal["user", "group", "event"]


@dataclass(frozen=True)
class DataKey:
    """What a data item's key says: its environment and what kind of object it holds."""

    environment_id: str
    kind: DataKind


def data_key_of(partition: str, sort: str) -> DataKey | None:
    """The user, group or event an item's key names; None for every other item."""
    # Data partitions are `E#<environment>#<U|G>#<id>`; environment ids never contain '#'.
    parts = partition.split("#", 3)
    if len(parts) < 4 or parts[0] != "E" or not parts[1]:
        return None
    environment_id, owner = parts[1], parts[2]
    if sort == USER_SORT_KEY and owner == "U":
        return DataKey(environment_id, "user")
    if sort == GROUP_SORT_KEY and owner == "G":
        return DataKey(environment_id, "group")
    if sort.startswith(EVENT_PREFIX) and owner in ("U", "G"):
        return DataKey(environment_id, "event")
    return None
