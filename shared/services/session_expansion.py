"""Expansion of content sessions: their answers, content, versions, users and groups. Apart
from content_expansion.py so the content function does not import the session rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.expansion import subpaths, wants
from shared.domain.session_objects import answer_object, session_object
from shared.domain.sessions import Session
from shared.services.content_expansion import ContentExpander
from shared.store import content as content_store
from shared.store import sessions as sessions_store


class SessionExpander(ContentExpander):
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
