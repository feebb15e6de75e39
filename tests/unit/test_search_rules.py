"""Search rules: folding, index entries, and where a user is listed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import search
from shared.domain.errors import InvalidInput
from shared.domain.search import Entry
from shared.store import keys


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Ann", "ann"),
        ("ANN@Example.COM", "ann@example.com"),
        ("\uff21\uff4e\uff4e", "ann"),  # full-width letters (NFKC)
        ("Stra\u00dfe", "strasse"),  # case folding, not just lower()
        ("tab\there\x7f", "tabhere"),  # control characters go
        ("\u00c9mile", "\u00e9mile"),
    ],
)
def test_fold_ignores_case_width_and_control_characters(text: str, folded: str) -> None:
    assert search.fold(text) == folded


def test_the_index_holds_the_first_64_folded_characters() -> None:
    assert search.indexed("A" * 100) == "a" * 64
    assert search.indexed("\x00\x01") is None


@pytest.mark.parametrize("q", [None, "", "\t\x00"])
def test_a_query_needs_something_to_match(q: str | None) -> None:
    with pytest.raises(InvalidInput, match=r"`q`"):
        search.parse_query(q)


def test_index_terms_cover_id_email_and_name_strings_only() -> None:
    terms = search.index_terms("U1", {"email": "Ann@X.io", "name": 7, "plan": "Pro"})
    assert terms == {"id": "u1", "email": "ann@x.io", "name": None}


def test_a_user_matching_twice_is_listed_at_its_first_entry() -> None:
    attributes = {"name": "Annabel", "email": "zed@example.com"}
    assert search.listed_at("ann", attributes, "ann") == Entry("ann", "id", "ann")
    assert search.listed_at("ann", attributes, "anna") == Entry("annabel", "name", "ann")
    assert search.listed_at("ann", attributes, "z") == Entry("zed@example.com", "email", "ann")
    assert search.listed_at("ann", attributes, "bob") is None


def test_a_long_query_is_checked_against_the_whole_value() -> None:
    name = "x" * 70 + "tail"
    assert search.listed_at("u", {"name": name}, "x" * 70 + "t") == Entry("x" * 64, "name", "u")
    assert search.listed_at("u", {"name": name}, "x" * 70 + "z") is None


@settings(max_examples=300, deadline=None)
@given(
    term=st.text(min_size=1, max_size=8),
    longer=st.text(min_size=1, max_size=8),
    user_id=st.text(min_size=1, max_size=8).filter(lambda t: "\x01" not in t),
)
def test_entry_order_is_the_index_sort_key_order(term: str, longer: str, user_id: str) -> None:
    """The entries' Python order (the dedupe rule) is the GSI2SK order DynamoDB keeps."""
    first = search.indexed(term)
    second = search.indexed(term + longer)
    if first is None or second is None:
        return
    a, b = Entry(first, "name", user_id), Entry(second, "email", user_id)
    sort_a = keys.search_order(a.term, a.field, a.user_id).encode()
    sort_b = keys.search_order(b.term, b.field, b.user_id).encode()
    assert (a < b) == (sort_a < sort_b)
    assert keys.search_order_parts(sort_a.decode()) == (a.term, a.field, a.user_id)
