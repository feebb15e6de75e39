"""Expansion of the content half: content with its versions, versions with their questions
and tasks, sessions with their answers, content, versions, users and groups. Apart from
expansion.py so the functions that never show content do not import its rules at cold start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.content import Content, Version
from shared.domain.content_objects import (
    answer_object,
    content_object,
    question_object,
    session_object,
    task_object,
    version_object,
)
from shared.domain.expansion import subpaths, wants
from shared.domain.sessions import Session
from shared.services.expansion import Expander
from shared.store import content as content_store
from shared.store import sessions as sessions_store


class ContentExpander(Expander):
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
