"""Expansion: fill in the related objects a request asks for with `expand`, to 4 levels.

Each level loads what all objects of that level need at once: the memberships of a page of
users (or groups) with one Query per object run side by side, and the users or groups they
point at with batched BatchGetItem calls. At most EXPAND_PER_OBJECT_BUDGET related objects
are expanded for one object and EXPAND_PER_REQUEST_BUDGET for a request; more is a 400 that
says where to list them instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.content import Content, Version
from shared.domain.errors import InvalidInput
from shared.domain.expansion import subpaths, wants
from shared.domain.limits import EXPAND_PER_OBJECT_BUDGET, EXPAND_PER_REQUEST_BUDGET
from shared.domain.objects import (
    answer_object,
    content_object,
    group_object,
    membership_object,
    question_object,
    session_object,
    task_object,
    user_object,
    version_object,
)
from shared.domain.sessions import Session
from shared.store import content as content_store
from shared.store import groups, memberships, users
from shared.store import sessions as sessions_store
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

    def contents(self, records: Sequence[Content], paths: Sequence[str]) -> list[dict[str, Any]]:
        """Content, with its draft and published versions (one batched read of them all)."""
        objects = [content_object(c) for c in records]
        for field in ("draft_version", "published_version"):
            if wants(paths, field):
                self._fill_versions(objects, field, f"{field}_id", subpaths(paths, field))
        return objects

    def versions(self, records: Sequence[Version], paths: Sequence[str]) -> list[dict[str, Any]]:
        """Versions, with their questions and tasks (held in the version: no read)."""
        objects = []
        for version in records:
            obj = version_object(version)
            if wants(paths, "questions"):
                obj["questions"] = [question_object(q) for q in self._count(version.questions)]
            if wants(paths, "tasks"):
                obj["tasks"] = [task_object(t) for t in self._count(version.tasks)]
            objects.append(obj)
        return objects

    def sessions(self, records: Sequence[Session], paths: Sequence[str]) -> list[dict[str, Any]]:
        """Sessions, with their answers (a Query per session, side by side), content and
        versions (batched reads), users and groups (as `related`)."""
        objects = [session_object(s) for s in records]
        if wants(paths, "answers"):
            by_session = sessions_store.answers_of(self.environment_id, list(records))
            for obj in objects:
                obj["answers"] = [answer_object(a) for a in self._count(by_session[obj["id"]])]
        if wants(paths, "content"):
            ids = [o["content_id"] for o in objects]
            found = content_store.get_many(self.environment_id, self._count(ids))
            expanded = dict(
                zip(
                    found,
                    self.contents(list(found.values()), subpaths(paths, "content")),
                    strict=True,
                )
            )
            for obj in objects:
                obj["content"] = expanded.get(obj["content_id"])
        if wants(paths, "version"):
            self._fill_versions(objects, "version", "version_id", subpaths(paths, "version"))
        return self.related(objects, paths)

    def _fill_versions(
        self, objects: list[dict[str, Any]], field: str, id_field: str, paths: Sequence[str]
    ) -> None:
        ids = [o[id_field] for o in objects if o[id_field]]
        found = content_store.get_versions(self.environment_id, self._count(ids))
        expanded = dict(zip(found, self.versions(list(found.values()), paths), strict=True))
        for obj in objects:
            obj[field] = expanded.get(obj[id_field]) if obj[id_field] else None

    def _count(self, related: Sequence[Any]) -> list[Any]:
        """Charge `related` objects to the request's expansion budget."""
        self.expanded += len(related)
        if self.expanded > EXPAND_PER_REQUEST_BUDGET:
            raise InvalidInput(
                f"Invalid `expand`: it would expand more than {EXPAND_PER_REQUEST_BUDGET:,} "
                "related objects; expand fewer levels or ask for a smaller `limit`."
            )
        return list(related)
