"""Expansion of the content half: content with its versions, versions with their questions
and tasks (sessions: session_expansion.py). Apart from expansion.py so the functions that
never show content do not import its rules at cold start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.content import Content, Version
from shared.domain.content_objects import (
    content_object,
    question_object,
    task_object,
    version_object,
)
from shared.domain.expansion import subpaths, wants
from shared.services.expansion import Expander
from shared.store import content as content_store


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

    def _fill_versions(
        self, objects: list[dict[str, Any]], field: str, id_field: str, paths: Sequence[str]
    ) -> None:
        ids = [o[id_field] for o in objects if o[id_field]]
        found = content_store.get_versions(self.environment_id, self._count(ids))
        expanded = dict(zip(found, self.versions(list(found.values()), paths), strict=True))
        for obj in objects:
            obj[field] = expanded.get(obj[id_field]) if obj[id_field] else None
