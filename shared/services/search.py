"""User search (`GET /users/search?q=`): which reads answer it, within which budget.

One Query of the search index (GSI2, the partition of the query's first folded character,
`begins_with` the query) in index order, and one BatchGetItem of the users its entries name:
an entry counts only if its user still has that value and is listed there (its first
matching entry), so a user shows up once and an entry a later write left behind never shows.
At most FILTER_EXAMINE_BUDGET entries are examined a request; past it the page ends early
with `has_more` and a cursor, like every filtered list.

The cursor is the position in the index (the last entry listed or examined), not a user id:
one user stands at up to three positions.
"""

from __future__ import annotations

import base64
import binascii

from shared.domain import search as rules
from shared.domain.errors import InvalidInput
from shared.domain.limits import FILTER_EXAMINE_BUDGET
from shared.domain.search import INDEXED_CHARACTERS, Entry
from shared.store import keys, users
from shared.store import search as index
from shared.store.attributed import Record
from shared.store.pages import Page

# Entries a Query asks for: a user stands at up to three, so this fills a page in one call.
ENTRIES_PER_USER = 3


def search_users(
    environment_id: str, q: str | None, *, limit: int, starting_after: str | None
) -> Page[Record]:
    query = rules.parse_query(q)
    prefix = query[:INDEXED_CHARACTERS]
    after = _position(starting_after, prefix) if starting_after is not None else None
    found: list[tuple[Entry, Record]] = []
    examined = 0
    last: Entry | None = None
    scan = index.Scan(environment_id, prefix)
    page_size = min(FILTER_EXAMINE_BUDGET, ENTRIES_PER_USER * (limit + 1))
    for entries in scan.pages(after=after, page_size=page_size):
        entries = entries[: FILTER_EXAMINE_BUDGET - examined]
        named = users.get_many(environment_id, list(dict.fromkeys(e.user_id for e in entries)))
        for entry in entries:
            examined += 1
            last = entry
            user = named.get(entry.user_id)
            if user is None or rules.listed_at(user.id, user.attributes, query) != entry:
                continue  # a deleted user, a value since changed, or not its first entry
            found.append((entry, user))
            if len(found) > limit:
                return _page(found[:limit], has_more=True, position=found[limit - 1][0])
        if examined >= FILTER_EXAMINE_BUDGET:
            return _page(found, has_more=True, position=last)
    return _page(found, has_more=False, position=last)


def _page(
    found: list[tuple[Entry, Record]], *, has_more: bool, position: Entry | None
) -> Page[Record]:
    """A page whose cursor continues after `position`: its last user's entry, or the last
    entry examined when the budget (or the index) ended it."""
    return Page(
        items=[user for _, user in found],
        has_more=has_more,
        resume_after=cursor(position) if position is not None else None,
    )


def cursor(entry: Entry) -> str:
    """An index position as `starting_after` carries it (URL-safe)."""
    sort = keys.search_order(entry.term, entry.field, entry.user_id)
    return base64.urlsafe_b64encode(sort.encode()).decode().rstrip("=")


def _position(text: str, prefix: str) -> Entry:
    try:
        sort = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        entry = Entry(*keys.search_order_parts(sort))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise InvalidInput(
            "Invalid `starting_after`: not a position in a search; follow `next_page_url`."
        ) from None
    if not entry.term.startswith(prefix) or entry.field not in rules.SEARCH_FIELDS:
        raise InvalidInput(
            "Invalid `starting_after`: it continues a search for another `q`; follow "
            "`next_page_url` of this search."
        )
    return entry
