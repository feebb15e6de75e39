"""Expansion: fill in the related objects a request asks for with `expand`, to 4 levels.

Each level loads what all objects of that level need in as few reads as possible
(one BatchGetItem for the users or groups of a whole page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.expansion import subpaths, wants
from shared.domain.objects import group_object, membership_object, user_object
from shared.store import groups, memberships, users
from shared.store.attributed import Record

MAX_MEMBERS_EXPANDED = 10_000


class Expander:
    def __init__(self, environment_id: str) -> None:
        self.environment_id = environment_id

    def users(self, records: Sequence[Record], paths: Sequence[str]) -> list[dict[str, Any]]:
        objects = [user_object(r) for r in records]
        if wants(paths, "memberships") or wants(paths, "groups"):
            by_user = {r.id: memberships.of_user(self.environment_id, r.id) for r in records}
            if wants(paths, "memberships"):
                for obj in objects:
                    obj["memberships"] = self.memberships(
                        by_user[obj["id"]], subpaths(paths, "memberships")
                    )
            if wants(paths, "groups"):
                group_ids = [m.fields["group_id"] for ms in by_user.values() for m in ms]
                found = groups.get_many(self.environment_id, group_ids)
                for obj in objects:
                    own = [
                        found[m.fields["group_id"]]
                        for m in by_user[obj["id"]]
                        if m.fields["group_id"] in found
                    ]
                    obj["groups"] = self.groups(own, subpaths(paths, "groups"))
        return objects

    def groups(self, records: Sequence[Record], paths: Sequence[str]) -> list[dict[str, Any]]:
        objects = [group_object(r) for r in records]
        if wants(paths, "memberships") or wants(paths, "users"):
            by_group = {
                r.id: memberships.of_group(self.environment_id, r.id, bound=MAX_MEMBERS_EXPANDED)
                for r in records
            }
            if wants(paths, "memberships"):
                for obj in objects:
                    obj["memberships"] = self.memberships(
                        by_group[obj["id"]], subpaths(paths, "memberships")
                    )
            if wants(paths, "users"):
                user_ids = [m.fields["user_id"] for ms in by_group.values() for m in ms]
                found = users.get_many(self.environment_id, user_ids)
                for obj in objects:
                    own = [
                        found[m.fields["user_id"]]
                        for m in by_group[obj["id"]]
                        if m.fields["user_id"] in found
                    ]
                    obj["users"] = self.users(own, subpaths(paths, "users"))
        return objects

    def memberships(self, records: Sequence[Record], paths: Sequence[str]) -> list[dict[str, Any]]:
        return self.related([membership_object(r) for r in records], paths)

    def related(self, objects: list[dict[str, Any]], paths: Sequence[str]) -> list[dict[str, Any]]:
        """Fill `user` and `group` of objects that point at them by id (events, sessions)."""
        if wants(paths, "user"):
            found = users.get_many(
                self.environment_id, [o["user_id"] for o in objects if o["user_id"]]
            )
            expanded = dict(
                zip(found, self.users(list(found.values()), subpaths(paths, "user")), strict=True)
            )
            for obj in objects:
                obj["user"] = expanded.get(obj["user_id"])
        if wants(paths, "group"):
            found_groups = groups.get_many(
                self.environment_id, [o["group_id"] for o in objects if o["group_id"]]
            )
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
