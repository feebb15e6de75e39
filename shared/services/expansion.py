"""Expansion: fill in the related objects a request asks for with `expand`, to 4 levels.

Each level loads what all objects of that level need at once: the memberships of a page of
users (or groups) with one Query per object run side by side, and the users or groups they
point at with batched BatchGetItem calls. At most EXPAND_PER_OBJECT_BUDGET related objects
are expanded for one object and EXPAND_PER_REQUEST_BUDGET for a request; more is a 400 that
says where to list them instead. Content, versions and sessions expand in
content_expansion.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.errors import InvalidInput
from shared.domain.expansion import subpaths, wants
from shared.domain.limits import EXPAND_PER_OBJECT_BUDGET, EXPAND_PER_REQUEST_BUDGET
from shared.domain.objects import group_object, membership_object, user_object
from shared.store import groups, memberships, users
from shared.store.attributed import Record


class Expander:
    def __init__(self, environment_id: str) -> None:
        self.environment_id = environment_id
        self.expanded = 0

    def users(self, records: Sequence[Record], paths: Sequence[str]) -> list[dict[str, Any]]:
        objects = [user_object(r) for r in records]
        if wants(paths, "memberships") or wants(paths, "groups"):
            by_user = memberships.of_users(
                self.environment_id,
                [r.id for r in records],
                bound=EXPAND_PER_OBJECT_BUDGET,
                too_many=(
                    f"Invalid `expand`: user {{id!r}} has more than {EXPAND_PER_OBJECT_BUDGET:,} "
                    "memberships to expand; list its groups with GET /groups?user_id=..."
                ),
            )
            self._through_memberships(objects, by_user, paths, "groups", "group_id")
        return objects

    def groups(self, records: Sequence[Record], paths: Sequence[str]) -> list[dict[str, Any]]:
        objects = [group_object(r) for r in records]
        if wants(paths, "memberships") or wants(paths, "users"):
            by_group = memberships.of_groups(
                self.environment_id,
                [r.id for r in records],
                bound=EXPAND_PER_OBJECT_BUDGET,
                too_many=(
                    f"Invalid `expand`: group {{id!r}} has more than {EXPAND_PER_OBJECT_BUDGET:,} "
                    "members to expand; list them with GET /users?group_id=..."
                ),
            )
            self._through_memberships(objects, by_group, paths, "users", "user_id")
        return objects

    def _through_memberships(
        self,
        objects: list[dict[str, Any]],
        by_owner: dict[str, list[Record]],
        paths: Sequence[str],
        targets: str,
        target_id: str,
    ) -> None:
        """Fill `memberships` and the objects they point at (`groups` of users, `users` of
        groups) from each object's memberships."""
        if wants(paths, "memberships"):
            self._fill(objects, "memberships", by_owner, subpaths(paths, "memberships"))
        if wants(paths, targets):
            self._fill_targets(objects, targets, by_owner, target_id, subpaths(paths, targets))

    def _fill(
        self,
        objects: list[dict[str, Any]],
        field: str,
        by_owner: dict[str, list[Record]],
        paths: Sequence[str],
    ) -> None:
        """Set each object's memberships, expanded for all objects at once."""
        expanded = iter(
            self.memberships([m for obj in objects for m in by_owner[obj["id"]]], paths)
        )
        for obj in objects:
            obj[field] = [next(expanded) for _ in by_owner[obj["id"]]]

    def _fill_targets(
        self,
        objects: list[dict[str, Any]],
        field: str,
        by_owner: dict[str, list[Record]],
        target_id: str,
        paths: Sequence[str],
    ) -> None:
        """Set each object's groups (or users) its memberships point at: one batched read of
        them all, expanded once each."""
        wanted = [m.fields[target_id] for ms in by_owner.values() for m in ms]
        load = groups.get_many if target_id == "group_id" else users.get_many
        found = load(self.environment_id, self._count(wanted))
        expand = self.groups if target_id == "group_id" else self.users
        expanded = dict(zip(found, expand(list(found.values()), paths), strict=True))
        for obj in objects:
            obj[field] = [
                expanded[m.fields[target_id]]
                for m in by_owner[obj["id"]]
                if m.fields[target_id] in expanded
            ]

    def memberships(self, records: Sequence[Record], paths: Sequence[str]) -> list[dict[str, Any]]:
        self._count(records)
        return self.related([membership_object(r) for r in records], paths)

    def related(self, objects: list[dict[str, Any]], paths: Sequence[str]) -> list[dict[str, Any]]:
        """Fill `user` and `group` of objects that point at them by id (events, memberships)."""
        if wants(paths, "user"):
            user_ids = [o["user_id"] for o in objects if o["user_id"]]
            found = users.get_many(self.environment_id, self._count(user_ids))
            expanded = dict(
                zip(found, self.users(list(found.values()), subpaths(paths, "user")), strict=True)
            )
            for obj in objects:
                obj["user"] = expanded.get(obj["user_id"])
        if wants(paths, "group"):
            group_ids = [o["group_id"] for o in objects if o["group_id"]]
            found_groups = groups.get_many(self.environment_id, self._count(group_ids))
            expanded = dict(
                zip(
                    found_groups,
                    self.groups(list(found_groups.values()), subpaths(paths, "group")),
                    strict=True,
                )
            )
            for obj in objects:
                obj["group"] = expanded.get(obj["group_id"])
        return objects

    def _count(self, related: Sequence[Any]) -> list[Any]:
        """Charge `related` objects to the request's expansion budget."""
        self.expanded += len(related)
        if self.expanded > EXPAND_PER_REQUEST_BUDGET:
            raise InvalidInput(
                f"Invalid `expand`: it would expand more than {EXPAND_PER_REQUEST_BUDGET:,} "
                "related objects; expand fewer levels or ask for a smaller `limit`."
            )
        return list(related)
