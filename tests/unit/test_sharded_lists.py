"""Lists kept in shards: the merge is the sorted whole, page after page."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.merging import merged_page, share_of_page


def _pages(shards: list[list[str]], *, limit: int, descending: bool) -> list[list[str]]:
    """Every page of the merged shards, each resuming after the last id of the one before
    (as a cursor does: every shard read again from beyond it)."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        beyond = [
            [k for k in shard if cursor is None or (k < cursor if descending else k > cursor)]
            for shard in shards
        ]
        items, has_more = merged_page(
            [iter(s) for s in beyond], sort_key=lambda k: k, descending=descending, limit=limit
        )
        pages.append(items)
        if not has_more:
            return pages
        assert items, "a page with more after it holds items"
        cursor = items[-1]


@settings(max_examples=200, deadline=None)
@given(
    keys=st.sets(st.text(alphabet="abcdefgh", min_size=1, max_size=4), max_size=60),
    shards=st.integers(min_value=1, max_value=9),
    limit=st.integers(min_value=1, max_value=12),
    descending=st.booleans(),
    seed=st.randoms(use_true_random=False),
)
def test_merged_pages_are_the_sorted_whole_across_page_boundaries_and_cursors(
    keys: set[str], shards: int, limit: int, descending: bool, seed: Any
) -> None:
    split: list[list[str]] = [[] for _ in range(shards)]
    for key in keys:
        split[seed.randrange(shards)].append(key)
    for shard in split:
        shard.sort(reverse=descending)
    pages = _pages(split, limit=limit, descending=descending)
    assert [k for page in pages for k in page] == sorted(keys, reverse=descending)
    assert all(len(page) == limit for page in pages[:-1])


def test_a_merge_reads_a_shard_no_further_than_the_page_needs() -> None:
    read: list[int] = []

    def shard(values: list[int]) -> Any:
        for value in values:
            read.append(value)
            yield value

    items, has_more = merged_page(
        [shard([1, 4, 9, 10]), shard([2, 3, 11])], sort_key=lambda v: v, descending=False, limit=3
    )
    assert (items, has_more) == ([1, 2, 3], True)
    assert sorted(read) == [1, 2, 3, 4, 11]  # the fourth item (4) proves there is more


def test_each_shard_is_first_asked_for_its_share_of_the_page_and_half_again() -> None:
    assert share_of_page(100, 9) == 19  # 101 / 9 = 11.2; x 1.5 = 16.8 -> 17, + 2
    assert share_of_page(10, 9) == 4
    assert share_of_page(1, 1) == 5


def _write_events(environment: str, count: int, *, unsharded_every: int) -> list[str]:
    """`count` events named `click`, every `unsharded_every`-th with the keys events had
    before the shards; their ids, oldest first."""
    from shared.store import dynamo, keys
    from shared.store import events as event_store

    ids = []
    for number in range(count):
        event, item = event_store.new_event(
            environment, name="click", user_id="u", group_id=None, attributes={}, time=None
        )
        if number % unsharded_every == 0:
            item["GSI1PK"] = keys.events_listing(environment)
            item["GSI2PK"] = keys.events_by_name_listing(environment, "click")
        dynamo.client().put_item(TableName=dynamo.table_name(), Item=dynamo.to_item(item))
        ids.append(event.id)
    return ids


def test_event_pages_merge_every_shard_and_the_events_from_before_the_shards(
    environment: str,
) -> None:
    from shared.store import events as event_store

    ids = _write_events(environment, 40, unsharded_every=5)
    for name in (None, "click"):
        for descending in (True, False):
            listed: list[str] = []
            cursor = None
            while True:
                page = event_store.list_page(
                    environment, limit=7, starting_after=cursor, descending=descending, name=name
                )
                listed += [e.id for e in page.items]
                if not page.has_more:
                    break
                cursor = page.items[-1].id
            assert listed == sorted(ids, reverse=descending), (name, descending)


def test_events_are_written_to_the_shard_their_id_names(environment: str) -> None:
    from shared.store import events as event_store
    from shared.store import keys

    event, item = event_store.new_event(
        environment, name="click", user_id="u", group_id=None, attributes={}, time=None
    )
    shard = keys.shard_of(event.id, keys.EVENT_SHARDS)
    assert item["GSI1PK"] == f"E#{environment}#EVENTS#{shard}"
    assert item["GSI2PK"] == f"E#{environment}#EVENTS#click#{shard}"
    assert len(set(keys.events_listings(environment))) == keys.EVENT_SHARDS + 1
