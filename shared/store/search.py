"""The user search index: an entry per searched value in the user's partition, `ST#<field>`,
in GSI2 by folded text (shared/domain/search.py says what is searched).

Entries are written after the user, each conditional on the user's version `v` being newer
than the one it was written for (`uv`), so of two racing writes the later user wins in the
index too. A value the user no longer has leaves a tombstone (the entry without its GSI2
keys, still holding `uv`), so an older write arriving late cannot bring it back. Entries carry
`created_at`, so a deleted user's cascade removes them with its partition; deleting a user
removes them at once, so the same id made again is indexed from version 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from shared.clock import now_iso
from shared.domain.search import SEARCH_FIELDS, Entry
from shared.store import dynamo, keys
from shared.store.bulk import delete_keys
from shared.store.parallel import run_all

INDEX = "GSI2"


def write_entries(
    environment_id: str, user_id: str, version: int, terms: dict[str, str | None]
) -> None:
    """Index the user's `terms` (field -> folded text, None for none) as of its `version`."""
    run_all(entry_writes(environment_id, user_id, version, terms))


def entry_writes(
    environment_id: str, user_id: str, version: int, terms: dict[str, str | None]
) -> list[Callable[[], None]]:
    """The writes of `write_entries`, for the caller to run side by side with others."""
    return [
        partial(_write_entry, environment_id, user_id, version, field, term)
        for field, term in terms.items()
    ]


def _write_entry(
    environment_id: str, user_id: str, version: int, field: str, term: str | None
) -> None:
    item: dict[str, Any] = {
        **keys.search_entry(environment_id, user_id, field),
        "uv": version,
        "created_at": now_iso(),
    }
    if term is not None:
        item["GSI2PK"] = keys.user_search_listing(environment_id, term)
        item["GSI2SK"] = keys.search_order(term, field, user_id)
    try:
        dynamo.client().put_item(
            TableName=dynamo.table_name(),
            Item=dynamo.to_item(item),
            ConditionExpression="attribute_not_exists(PK) OR uv < :uv",
            ExpressionAttributeValues=dynamo.to_item({":uv": version}),
        )
    except Exception as error:
        if not dynamo.is_conditional_failure(error):
            raise
        # A later write of the user indexed it already.


def delete_entries(environment_id: str, user_id: str) -> None:
    delete_keys([keys.search_entry(environment_id, user_id, field) for field in SEARCH_FIELDS])


@dataclass(frozen=True)
class Scan:
    """Entries whose text starts with `prefix`, in index order, a Query at a time."""

    environment_id: str
    prefix: str  # folded, at most INDEXED_CHARACTERS (what the index holds of a text)

    def pages(self, *, after: Entry | None, page_size: int) -> Iterator[list[Entry]]:
        partition = keys.user_search_listing(self.environment_id, self.prefix)
        arguments: dict[str, Any] = {
            "TableName": dynamo.table_name(),
            "IndexName": INDEX,
            "KeyConditionExpression": "GSI2PK = :pk AND begins_with(GSI2SK, :prefix)",
            "ExpressionAttributeValues": dynamo.to_item({":pk": partition, ":prefix": self.prefix}),
            "Limit": page_size,
        }
        if after is not None:
            arguments["ExclusiveStartKey"] = dynamo.to_item(
                {
                    **keys.search_entry(self.environment_id, after.user_id, after.field),
                    "GSI2PK": partition,
                    "GSI2SK": keys.search_order(after.term, after.field, after.user_id),
                }
            )
        while True:
            result = dynamo.client().query(**arguments)
            yield [
                Entry(*keys.search_order_parts(dynamo.from_item(item)["GSI2SK"]))
                for item in result.get("Items", [])
            ]
            if "LastEvaluatedKey" not in result:
                return
            arguments["ExclusiveStartKey"] = result["LastEvaluatedKey"]
