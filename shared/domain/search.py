"""User search as pure rules: which text is searched, how it is folded, which entry of the
index stands for a user.

`GET /users/search?q=` matches users whose id, `email` or `name` starts with `q`, ignoring
case (Unicode case folding after NFKC normalization: full-width and ASCII `ABC` and `abc` are
one). Each of the three values is one entry of an index sorted by its folded text; the index
holds the first INDEXED_CHARACTERS characters, and a longer query is checked against the user.

A user whose id and name both start with `q` has two matching entries: it is listed once, at
the first of them in index order (`listed_at`), so pages never repeat a user.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.domain.errors import InvalidInput

SEARCH_FIELDS = ("id", "email", "name")  # `id` is the user's id; the others are attributes
# Index sort keys hold this many folded characters (at most 4 bytes each), the user id (480
# bytes) and two separators: well within DynamoDB's 1,024-byte sort key.
INDEXED_CHARACTERS = 64


def fold(text: str) -> str:
    """Text as the index compares it: NFKC, case-folded, without control characters."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if unicodedata.category(c) != "Cc")


def indexed(text: str) -> str | None:
    """The index's text for a value (its folded start), or None when nothing is left."""
    folded = fold(text)[:INDEXED_CHARACTERS]
    return folded or None


def parse_query(q: str | None) -> str:
    """The folded query; a 400 when it is missing or folds to nothing."""
    if q is None:
        raise InvalidInput("Query parameter `q` is required: the start of an id, email or name.")
    folded = fold(q)
    if not folded:
        raise InvalidInput("Invalid `q`: it must hold at least one letter, digit or sign.")
    return folded


def searched_values(user_id: str, attributes: Mapping[str, Any]) -> dict[str, str]:
    """Field -> the user's searched text (string attributes only)."""
    values = {"id": user_id}
    for field in SEARCH_FIELDS[1:]:
        value = attributes.get(field)
        if isinstance(value, str):
            values[field] = value
    return values


def index_terms(user_id: str, attributes: Mapping[str, Any]) -> dict[str, str | None]:
    """Field -> the user's index text; None where the user has none (its entry goes)."""
    values = searched_values(user_id, attributes)
    return {field: indexed(values[field]) if field in values else None for field in SEARCH_FIELDS}


@dataclass(frozen=True, order=True)
class Entry:
    """One index entry, in index order: text, then field, then user id."""

    term: str
    field: str
    user_id: str


def listed_at(user_id: str, attributes: Mapping[str, Any], query: str) -> Entry | None:
    """The entry a user is listed at for a folded `query`, or None when it does not match."""
    matching = [
        Entry(indexed(value) or "", field, user_id)
        for field, value in searched_values(user_id, attributes).items()
        if fold(value).startswith(query)
    ]
    return min(matching) if matching else None
