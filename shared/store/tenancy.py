"""Environments and their API keys (the control plane).

Keys are stored only as SHA-256 hashes; the plain key is shown once, at creation.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from shared.clock import now_iso
from shared.domain.rate_limits import DEFAULT_LIMITS, RateLimits
from shared.store import dynamo, keys

API_KEY_PREFIX = "ak_"


@dataclass(frozen=True)
class Environment:
    id: str
    name: str
    created_at: str
    # Its own rate limits; None: the defaults (shared/domain/rate_limits.py).
    rate_limits: RateLimits | None = None

    @property
    def effective_limits(self) -> RateLimits:
        return self.rate_limits or DEFAULT_LIMITS


@dataclass(frozen=True)
class ApiKey:
    id: str
    environment_id: str
    name: str
    created_at: str
    last4: str


def _random_token(nbytes: int = 20) -> str:
    """Lowercase base32 without padding: 20 bytes give 32 characters (160 bits)."""
    return base64.b32encode(secrets.token_bytes(nbytes)).decode().rstrip("=").lower()


def hash_api_key(plain_key: str) -> str:
    return hashlib.sha256(plain_key.encode()).hexdigest()


def create_environment(name: str) -> Environment:
    environment = Environment(id=f"env_{_random_token(10)}", name=name, created_at=now_iso())
    dynamo.client().put_item(
        TableName=dynamo.table_name(),
        Item=dynamo.to_item(
            {
                **keys.environment(environment.id),
                "GSI1PK": keys.environments_listing(),
                "GSI1SK": keys.created_order(environment.created_at, environment.id),
                "id": environment.id,
                "name": name,
                "created_at": environment.created_at,
                # No users yet: each gets its ordered entries as it is written
                # (shared/store/user_order.py).
                ORDER_READY: True,
            }
        ),
        ConditionExpression="attribute_not_exists(PK)",
    )
    return environment


# On the environment item: every user has its ordered entries (an environment created before
# them has it once `waymark env reindex` has placed its users).
ORDER_READY = "order_ready"


def get_environment(environment_id: str) -> Environment | None:
    found = dynamo.client().get_item(
        TableName=dynamo.table_name(), Key=dynamo.to_item(keys.environment(environment_id))
    )
    if "Item" not in found:
        return None
    return _environment(dynamo.from_item(found["Item"]))


def list_environments() -> list[Environment]:
    return [_environment(item) for item in _query_all("GSI1", keys.environments_listing())]


def set_rate_limits(environment_id: str, limits: RateLimits | None) -> Environment | None:
    """Records the environment's own limits (None: back to the defaults). None when there is
    no such environment. Enforcing them is API Gateway's job (infra/usage_plans.py)."""
    if limits is None:
        changes: dict[str, Any] = {}
        removals: tuple[str, ...] = ("rate_limit", "burst_limit", "daily_quota")
    else:
        changes = {"rate_limit": limits.rate, "burst_limit": limits.burst}
        removals = ()
        if limits.daily_quota is None:
            removals = ("daily_quota",)
        else:
            changes["daily_quota"] = limits.daily_quota
    item = dynamo.update_existing(keys.environment(environment_id), changes, removals)
    return _environment(item) if item is not None else None


def _environment(item: dict[str, Any]) -> Environment:
    limits = None
    if "rate_limit" in item:
        quota = item.get("daily_quota")
        limits = RateLimits(
            rate=float(item["rate_limit"]),
            burst=int(item["burst_limit"]),
            daily_quota=int(quota) if quota is not None else None,
        )
    return Environment(
        id=item["id"], name=item["name"], created_at=item["created_at"], rate_limits=limits
    )


def create_api_key(environment_id: str, name: str = "default") -> tuple[ApiKey, str]:
    """Create a key for an environment. Returns the key record and the plain key (shown once)."""
    if get_environment(environment_id) is None:
        raise LookupError(f"No environment {environment_id!r}")
    plain = f"{API_KEY_PREFIX}{_random_token()}"
    key_hash = hash_api_key(plain)
    record = ApiKey(
        id=f"key_{key_hash[:16]}",
        environment_id=environment_id,
        name=name,
        created_at=now_iso(),
        last4=plain[-4:],
    )
    dynamo.client().put_item(
        TableName=dynamo.table_name(),
        Item=dynamo.to_item(
            {
                **keys.api_key(key_hash),
                "GSI1PK": keys.environment_keys_listing(environment_id),
                "GSI1SK": keys.created_order(record.created_at, record.id),
                "id": record.id,
                "environment_id": environment_id,
                "name": name,
                "created_at": record.created_at,
                "last4": record.last4,
            }
        ),
        ConditionExpression="attribute_not_exists(PK)",
    )
    return record, plain


def list_api_keys(environment_id: str) -> list[ApiKey]:
    return [_api_key(i) for i in _query_all("GSI1", keys.environment_keys_listing(environment_id))]


def revoke_api_key(environment_id: str, key_id: str) -> bool:
    """Delete a key by its id. Returns False when the environment has no such key."""
    for item in _query_all("GSI1", keys.environment_keys_listing(environment_id)):
        if item["id"] == key_id:
            dynamo.client().delete_item(
                TableName=dynamo.table_name(),
                Key=dynamo.to_item({"PK": item["PK"], "SK": item["SK"]}),
            )
            return True
    return False


def resolve_api_key(plain_key: str) -> str | None:
    """The environment a plain key authorizes, or None for an unknown or malformed key."""
    if not plain_key.startswith(API_KEY_PREFIX) or len(plain_key) > 200:
        return None
    found = dynamo.client().get_item(
        TableName=dynamo.table_name(),
        Key=dynamo.to_item(keys.api_key(hash_api_key(plain_key))),
        ProjectionExpression="environment_id",
    )
    item = found.get("Item")
    return str(dynamo.from_item(item)["environment_id"]) if item else None


def _api_key(item: dict[str, Any]) -> ApiKey:
    return ApiKey(
        id=item["id"],
        environment_id=item["environment_id"],
        name=item["name"],
        created_at=item["created_at"],
        last4=item["last4"],
    )


def _query_all(index: str, partition: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {
        "TableName": dynamo.table_name(),
        "IndexName": index,
        "KeyConditionExpression": f"{index}PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": partition}},
    }
    while True:
        page = dynamo.client().query(**arguments)
        items.extend(dynamo.from_item(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
