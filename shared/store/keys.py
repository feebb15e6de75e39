"""Every key of the single table is built here, and nowhere else.

Data keys start with the environment (`E#<env>#...`), so no query can cross tenants.
"""

from __future__ import annotations


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
