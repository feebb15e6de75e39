"""Content and versions: authoring (an extension) and the reference's lists.

Each authoring step reads what it changes (strongly consistent), applies the pure rules of
`shared.domain.content`, and writes conditionally on what it read; a write that lost a race
reads again (a few times, then a 409 the client may retry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from shared.clock import now_iso
from shared.domain import content as rules
from shared.domain.content import Content, ContentType, DraftEdit, Version
from shared.domain.errors import Conflict, InvalidInput, Unknown
from shared.domain.limits import SORT_READ_BUDGET
from shared.domain.ordering import page_in_memory
from shared.http.listing import ListQuery
from shared.ids import new_id
from shared.store import content as store
from shared.store.content import WriteConflict
from shared.store.pages import Page

MAX_ATTEMPTS = 5
CONTENT_TYPES = ", ".join(t.value for t in ContentType)

T = TypeVar("T")


def create(environment_id: str, name: str, content_type: ContentType) -> Content:
    content, draft = rules.new_content(name, content_type, new_id, now_iso())
    store.create(environment_id, content, draft)
    return content


def get(environment_id: str, content_id: str, *, consistent: bool = False) -> Content:
    found = store.get(environment_id, content_id, consistent=consistent)
    if found is None:
        raise Unknown(f"No content with id {content_id!r}.")
    return found


def get_version(environment_id: str, version_id: str) -> Version:
    found = store.get_version(environment_id, version_id)
    if found is None:
        raise Unknown(f"No content version with id {version_id!r}.")
    return found


def update(
    environment_id: str, content_id: str, name: str | None, content_type: ContentType | None
) -> Content:
    """Rename; the type is fixed at creation (giving the same one is fine)."""

    def attempt() -> Content:
        content = get(environment_id, content_id, consistent=True)
        if content_type is not None and content_type is not content.type:
            raise InvalidInput(
                f"Invalid `type`: content keeps the type it was created with "
                f"({content.type.value}); create new content for a {content_type.value}."
            )
        if name is None:
            return content
        return store.update(environment_id, content, rules.rename(content, name))

    return _retried(attempt)


def set_archived(environment_id: str, content_id: str, archived: bool) -> Content:
    """Archive (no new sessions, no edits) or unarchive; doing it twice changes nothing."""

    def attempt() -> Content:
        content = get(environment_id, content_id, consistent=True)
        if (content.archived_at is not None) == archived:
            return content
        after = replace(content, archived_at=now_iso() if archived else None)
        return store.update(environment_id, content, after)

    return _retried(attempt)


def edit_draft(environment_id: str, content_id: str, edit: DraftEdit) -> Version:
    """Edit the draft in place, or start the next version when the draft is published."""

    def attempt() -> Version:
        content, draft = _with_draft(environment_id, content_id)
        edited = rules.edit_draft(content, draft, edit, new_id, now_iso())
        if edited.id == draft.id:
            store.edit_draft(environment_id, content, edited)
        else:
            store.add_draft(environment_id, content, edited)
        return edited

    return _retried(attempt)


def publish(environment_id: str, content_id: str, description: str | None) -> Content:
    """Publish the draft (it never changes again); publishing it again changes nothing."""

    def attempt() -> Content:
        content, draft = _with_draft(environment_id, content_id)
        published = rules.publish(content, draft, description, now_iso())
        if published is None:
            return content
        after, frozen = published
        store.publish(environment_id, content, after, frozen)
        return after

    return _retried(attempt)


def _with_draft(environment_id: str, content_id: str) -> tuple[Content, Version]:
    content = get(environment_id, content_id, consistent=True)
    draft = store.get_version(environment_id, content.draft_version_id, consistent=True)
    if draft is None:  # pragma: no cover - written together with the content
        raise WriteConflict(content_id)
    return content, draft


def _retried(attempt: Callable[[], T]) -> T:
    for _ in range(MAX_ATTEMPTS):
        try:
            return attempt()
        except WriteConflict:
            continue
    raise Conflict("content")


def list_content(environment_id: str, query: ListQuery) -> Page[Content]:
    """In creation order (the default): one index Query a page. By name: every content object
    of the environment (at most SORT_READ_BUDGET) sorted in memory."""
    content_type = query.filters.get("type")
    if content_type is not None and content_type not in {t.value for t in ContentType}:
        raise InvalidInput(f"Invalid `type` {content_type!r}. Accepted: {CONTENT_TYPES}.")
    first = query.order_by[0]
    if first.field == "created_at":
        return store.list_page(
            environment_id,
            content_type=content_type,
            limit=query.limit,
            descending=first.descending,
            starting_after=query.starting_after,
        )
    candidates = store.every(
        environment_id,
        content_type=content_type,
        bound=SORT_READ_BUDGET,
        too_many=(
            f"Invalid `order_by`: ordering by name sorts all content in memory, and there is "
            f"more than {SORT_READ_BUDGET:,}; order by created_at (the default) to page "
            "through it."
        ),
    )
    items, has_more = page_in_memory(
        candidates,
        order_by=query.order_by,
        limit=query.limit,
        starting_after=query.starting_after,
        value_of=lambda c, field: c.name if field == "name" else c.created_at,
        id_of=lambda c: c.id,
        tie_breaker=lambda c: (c.created_at, c.id),
    )
    return Page(items=items, has_more=has_more)


def list_versions(environment_id: str, query: ListQuery) -> Page[Version]:
    """One content's versions by number; `content_id` is required, as the reference says."""
    content_id = query.filters.get("content_id")
    if content_id is None:
        raise InvalidInput(
            "Query parameter `content_id` is required: versions are listed per content object."
        )
    number = None
    if "number" in query.filters:
        text = query.filters["number"]
        if not (text.isascii() and text.isdigit() and 0 < len(text) <= 8 and int(text) > 0):
            raise InvalidInput(f"Invalid `number` {text[:20]!r}: a version number (1, 2, ...).")
        number = int(text)
    return store.versions_page(
        environment_id,
        content_id,
        limit=query.limit,
        descending=query.order_by[0].descending,
        starting_after=query.starting_after,
        number=number,
    )
