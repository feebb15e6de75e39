"""Content and content versions.

Content: PK `E#<env>#C#<id>`, SK `C`; GSI1 lists an environment's content by creation, GSI2
one type's. Versions: PK `E#<env>#CV#<id>`, SK `CV`, so any version is one GetItem away;
GSI1 lists one content's versions by number. A version's questions and tasks are in its item.

Every authoring write is conditional on what it read (the content's draft and highest number,
a version not yet published), so two edits racing each other never make two drafts: the loser
gets `WriteConflict` and reads again. A published version never changes, so it is kept in
memory once read.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from shared.domain import limits
from shared.domain.content import (
    Content,
    ContentType,
    Question,
    QuestionType,
    Task,
    Version,
)
from shared.domain.errors import InvalidInput
from shared.store import attributed, dynamo, keys
from shared.store.bulk import query_all
from shared.store.pages import CreationOrder, Page, query_page

# Published versions never change: this container keeps the last ones it read.
_PUBLISHED_CACHE_SIZE = 512
_published: OrderedDict[tuple[str, str], Version] = OrderedDict()


class WriteConflict(Exception):
    """What an authoring write was conditional on changed since it was read."""


# --- items -------------------------------------------------------------------------------------


def _content_item(environment_id: str, content: Content) -> dict[str, Any]:
    return {
        **keys.content(environment_id, content.id),
        "GSI1PK": keys.content_listing(environment_id),
        "GSI1SK": keys.created_order(content.created_at, content.id),
        "GSI2PK": keys.content_by_type_listing(environment_id, content.type.value),
        "GSI2SK": keys.created_order(content.created_at, content.id),
        "id": content.id,
        "name": content.name,
        "type": content.type.value,
        "created_at": content.created_at,
        "draft_version_id": content.draft_version_id,
        "latest_number": content.latest_number,
    }


def _content(item: dict[str, Any]) -> Content:
    return Content(
        id=item["id"],
        name=item["name"],
        type=ContentType(item["type"]),
        created_at=item["created_at"],
        draft_version_id=item["draft_version_id"],
        published_version_id=item.get("published_version_id"),
        archived_at=item.get("archived_at"),
        latest_number=int(item["latest_number"]),
    )


def _version_item(environment_id: str, version: Version) -> dict[str, Any]:
    item: dict[str, Any] = {
        **keys.content_version(environment_id, version.id),
        "GSI1PK": keys.content_versions_listing(environment_id, version.content_id),
        "GSI1SK": keys.version_number_order(version.number),
        "id": version.id,
        "content_id": version.content_id,
        "number": version.number,
        "created_at": version.created_at,
        "edited_at": version.edited_at,
        "description": version.description,
        "published_at": version.published_at,
        "questions": [_question_item(q) for q in version.questions],
        "tasks": [{"id": t.id, "cvid": t.cvid, "name": t.name} for t in version.tasks],
    }
    size = limits.item_size(item)
    if size > limits.MAX_OBJECT_BYTES:
        raise InvalidInput(
            f"Invalid request: the version would hold {size:,} bytes; a version holds at most "
            f"{limits.MAX_OBJECT_BYTES:,} bytes (UTF-8)."
        )
    return {k: v for k, v in item.items() if v is not None}


def _question_item(question: Question) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": question.id,
        "cvid": question.cvid,
        "name": question.name,
        "type": question.type.value,
    }
    if question.choices is not None:
        item["choices"] = list(question.choices)
    return item


def _version(item: dict[str, Any]) -> Version:
    return Version(
        id=item["id"],
        content_id=item["content_id"],
        number=int(item["number"]),
        created_at=item["created_at"],
        edited_at=item["edited_at"],
        description=item.get("description"),
        published_at=item.get("published_at"),
        questions=tuple(
            Question(
                q["id"],
                q["cvid"],
                q["name"],
                QuestionType(q["type"]),
                tuple(q["choices"]) if "choices" in q else None,
            )
            for q in item.get("questions", [])
        ),
        tasks=tuple(Task(t["id"], t["cvid"], t["name"]) for t in item.get("tasks", [])),
    )


# --- content -----------------------------------------------------------------------------------


def create(environment_id: str, content: Content, draft: Version) -> None:
    """The content and its first draft, together."""
    dynamo.transact_write(
        [
            dynamo.put_request(_content_item(environment_id, content), "attribute_not_exists(PK)"),
            dynamo.put_request(_version_item(environment_id, draft), "attribute_not_exists(PK)"),
        ]
    )


def get(environment_id: str, content_id: str, *, consistent: bool = False) -> Content | None:
    item = attributed.get_item(keys.content(environment_id, content_id), consistent=consistent)
    return _content(item) if item else None


def get_many(environment_id: str, content_ids: list[str]) -> dict[str, Content]:
    items = attributed.get_items(keys.content(environment_id, c) for c in content_ids)
    return {item["id"]: _content(item) for item in items}


def update(environment_id: str, before: Content, after: Content) -> Content:
    """Write the content's name and archive state, if nothing changed since `before`."""
    try:
        dynamo.transact_write([_content_update(environment_id, before, after)])
    except dynamo.TransactionCancelled:
        raise WriteConflict(before.id) from None
    return after


def _content_update(environment_id: str, before: Content, after: Content) -> dict[str, Any]:
    """An update of every mutable field, conditional on the item being as read."""
    archived = "attribute_not_exists(#archived_at)"
    values: dict[str, Any] = {"draft": before.draft_version_id, "latest": before.latest_number}
    if before.archived_at is not None:
        archived, values["archived"] = "#archived_at = :archived", before.archived_at
    return dynamo.update_request(
        keys.content(environment_id, after.id),
        {
            "name": after.name,
            "archived_at": after.archived_at,
            "draft_version_id": after.draft_version_id,
            "published_version_id": after.published_version_id,
            "latest_number": after.latest_number,
        },
        f"#draft_version_id = :draft AND #latest_number = :latest AND {archived}",
        **values,
    )


def edit_draft(environment_id: str, content: Content, draft: Version) -> None:
    """Write the edited draft in place: only while it is unpublished and still the draft of
    content that is not archived."""
    try:
        dynamo.transact_write(
            [
                dynamo.put_request(
                    _version_item(environment_id, draft),
                    "attribute_exists(PK) AND attribute_not_exists(#published_at)",
                ),
                _content_check(environment_id, content),
            ]
        )
    except dynamo.TransactionCancelled:
        raise WriteConflict(content.id) from None


def _content_check(environment_id: str, content: Content) -> dict[str, Any]:
    return dynamo.check_request(
        keys.content(environment_id, content.id),
        "#draft_version_id = :draft AND #latest_number = :latest "
        "AND attribute_not_exists(#archived_at)",
        draft=content.draft_version_id,
        latest=content.latest_number,
    )


def add_draft(environment_id: str, content: Content, draft: Version) -> Content:
    """A new draft (the next number) after a published one; returns the content as now."""
    after = replace(content, draft_version_id=draft.id, latest_number=draft.number)
    try:
        dynamo.transact_write(
            [
                dynamo.put_request(
                    _version_item(environment_id, draft), "attribute_not_exists(PK)"
                ),
                _content_update(environment_id, content, after),
            ]
        )
    except dynamo.TransactionCancelled:
        raise WriteConflict(content.id) from None
    return after


def publish(environment_id: str, before: Content, after: Content, version: Version) -> None:
    """Freeze the draft and make it the published version, together."""
    try:
        dynamo.transact_write(
            [
                dynamo.put_request(
                    _version_item(environment_id, version),
                    "attribute_exists(PK) AND attribute_not_exists(#published_at)",
                ),
                _content_update(environment_id, before, after),
            ]
        )
    except dynamo.TransactionCancelled:
        raise WriteConflict(before.id) from None


def list_page(
    environment_id: str,
    *,
    content_type: str | None,
    limit: int,
    descending: bool,
    starting_after: str | None,
) -> Page[Content]:
    """In creation order: all content (GSI1), or one type's (GSI2)."""
    page = _listing(environment_id, content_type).page(
        limit=limit, descending=descending, starting_after=starting_after
    )
    return Page(items=[_content(i) for i in page.items], has_more=page.has_more)


def every(
    environment_id: str, *, content_type: str | None, bound: int, too_many: str
) -> list[Content]:
    """All content (or one type's), at most `bound` (past it, a 400 saying `too_many`)."""
    listing = _listing(environment_id, content_type)
    items = query_all(
        index=listing.index, partition=listing.partition, bound=bound, too_many=too_many
    )
    return [_content(i) for i in items]


def _listing(environment_id: str, content_type: str | None) -> CreationOrder:
    index, partition = (
        ("GSI1", keys.content_listing(environment_id))
        if content_type is None
        else ("GSI2", keys.content_by_type_listing(environment_id, content_type))
    )
    return CreationOrder(
        index=index,
        partition=partition,
        load=partial(_anchor, environment_id),
        table_key=partial(keys.content, environment_id),
        what="content",
    )


@dataclass(frozen=True)
class _Anchor:
    id: str
    created_at: str


def _anchor(environment_id: str, content_id: str) -> _Anchor | None:
    found = get(environment_id, content_id)
    return _Anchor(found.id, found.created_at) if found else None


# --- versions ----------------------------------------------------------------------------------


def get_version(
    environment_id: str, version_id: str, *, consistent: bool = False
) -> Version | None:
    cached = _published.get((environment_id, version_id))
    if cached is not None:
        return cached
    item = attributed.get_item(
        keys.content_version(environment_id, version_id), consistent=consistent
    )
    return _remember(environment_id, _version(item)) if item else None


def get_versions(environment_id: str, version_ids: list[str]) -> dict[str, Version]:
    found = {
        v: _published[(environment_id, v)] for v in version_ids if (environment_id, v) in _published
    }
    missing = [v for v in dict.fromkeys(version_ids) if v not in found]
    for item in attributed.get_items(keys.content_version(environment_id, v) for v in missing):
        found[item["id"]] = _remember(environment_id, _version(item))
    return found


def _remember(environment_id: str, version: Version) -> Version:
    if version.published:
        _published[(environment_id, version.id)] = version
        while len(_published) > _PUBLISHED_CACHE_SIZE:
            _published.popitem(last=False)
    return version


def versions_page(
    environment_id: str,
    content_id: str,
    *,
    limit: int,
    descending: bool,
    starting_after: str | None,
    number: int | None,
) -> Page[Version]:
    """One content's versions by number (GSI1); `number` keeps only that version."""
    partition = keys.content_versions_listing(environment_id, content_id)
    if number is not None:
        items = query_all(
            index="GSI1",
            partition=partition,
            sort_prefix=keys.version_number_order(number),
            bound=1,
        )
        return Page(items=[_version(i) for i in items], has_more=False)
    beyond = None
    if starting_after is not None:
        anchor = get_version(environment_id, starting_after)
        if anchor is None or anchor.content_id != content_id:
            raise InvalidInput(
                f"Invalid `starting_after`: content {content_id!r} has no version "
                f"{starting_after!r}."
            )
        beyond = keys.version_number_order(anchor.number)
    page = query_page(
        index="GSI1",
        partition=partition,
        limit=limit,
        descending=descending,
        start_key=None,
        sort_beyond=beyond,
    )
    return Page(items=[_version(i) for i in page.items], has_more=page.has_more)


def forget_published() -> None:
    """Empty the published versions kept in memory (tests)."""
    _published.clear()
