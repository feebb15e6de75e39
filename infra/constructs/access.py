"""Which DynamoDB actions each function may call: least privilege, decided in one place.

Derived from what the code calls (`shared/store`, `shared/services`) per function, not per
module: the authorizer imports `shared.store.tenancy`, whose CLI helpers write, but the
authorizer itself only resolves a key with one GetItem. Transactions are authorized item by
item (a Put as PutItem, a ConditionCheck as ConditionCheckItem); only the content functions
check items they do not write (a session's user and group, an edited draft's content);
nothing scans; nothing manages the table. Every function with write routes also claims and
answers Idempotency-Key records (shared/store/idempotency.py: a conditional PutItem, then an
UpdateItem), which each of them already may; the definitions function has no write route.

A function the route table gains before it is listed here gets `READ_WRITE`, the profile of
an ordinary API function, so a new route deploys and works; narrow it here when you know
what it calls (tests/infra/test_iam.py pins every entry).
"""

from __future__ import annotations

from dataclasses import dataclass

GET = "dynamodb:GetItem"
BATCH_GET = "dynamodb:BatchGetItem"
QUERY = "dynamodb:Query"
PUT = "dynamodb:PutItem"
UPDATE = "dynamodb:UpdateItem"
DELETE = "dynamodb:DeleteItem"
BATCH_WRITE = "dynamodb:BatchWriteItem"
CONDITION_CHECK = "dynamodb:ConditionCheckItem"


@dataclass(frozen=True)
class TableAccess:
    """Actions on the table's items, and actions on its global secondary indexes."""

    table_actions: tuple[str, ...]
    index_actions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.table_actions and not self.index_actions:
            raise ValueError("a TableAccess grants at least one action")


# An API function that creates, updates, deletes and lists (users, groups).
READ_WRITE = TableAccess(
    table_actions=(GET, BATCH_GET, QUERY, PUT, UPDATE, DELETE, BATCH_WRITE),
    index_actions=(QUERY,),
)

FUNCTION_ACCESS: dict[str, TableAccess] = {
    # Resolves `KEY#<sha256>` -> environment: one GetItem, nothing else.
    "authorizer": TableAccess(table_actions=(GET,)),
    # Users: upsert (BatchGetItem of the items first, UpdateItem; definitions: UpdateItem),
    # memberships (Query, BatchWriteItem for stale ones), delete (DeleteItem + the purge job's
    # PutItem), lists and expansion (indexes, BatchGetItem), segments filter (GetItem).
    "users": READ_WRITE,
    # Bulk user upserts: what a user upsert does (BatchGetItem, UpdateItem, GetItem on a list
    # operation's retry, PutItem of search entries and definitions, Query and BatchWriteItem
    # when pruning memberships), for many users. Never deletes an object, never lists.
    "users_bulk": TableAccess(table_actions=(GET, BATCH_GET, QUERY, PUT, UPDATE, BATCH_WRITE)),
    # Groups: the same shape as users (an upsert reads with GetItem), plus /group_memberships
    # (DeleteItem).
    "groups": READ_WRITE,
    # Events: PutItem (the event, an event attribute use), UpdateItem (definitions), lists
    # through GSI1/GSI2/GSI3, expansion (GetItem, BatchGetItem, memberships Query). Never
    # deletes.
    "events": TableAccess(
        table_actions=(GET, BATCH_GET, QUERY, PUT, UPDATE), index_actions=(QUERY,)
    ),
    # Definitions are listed only (the writers record them): one partition, queried (once
    # more per `event_name` filter value).
    "definitions": TableAccess(table_actions=(QUERY,)),
    # Segments: single-item CRUD and a GSI1 listing.
    "segments": TableAccess(table_actions=(GET, PUT, UPDATE, DELETE), index_actions=(QUERY,)),
    # Content: creates content with its first draft, edits drafts, publishes (transactions of
    # PutItem and UpdateItem, a ConditionCheckItem on the content of an edited draft); reads
    # content and versions (GetItem, BatchGetItem for expansion); lists through GSI1/GSI2.
    # Never deletes, never queries the table itself.
    "content": TableAccess(
        table_actions=(GET, BATCH_GET, PUT, UPDATE, CONDITION_CHECK), index_actions=(QUERY,)
    ),
    # Content sessions: starts a session (a transaction: ConditionCheckItem of the user and
    # group, PutItem of the lock, history item, session and event), steps (UpdateItem, and
    # transactions of an UpdateItem, PutItem of answers and events, DeleteItem of the lock),
    # deletes (DeleteItem, BatchWriteItem of answers); reads sessions, versions, locks
    # (GetItem), answers and a user's sessions (Query), expansions (BatchGetItem, Query);
    # lists through GSI1/GSI2/GSI3; definitions of the built-in events (UpdateItem, PutItem).
    "content_sessions": TableAccess(
        table_actions=(GET, BATCH_GET, QUERY, PUT, UPDATE, DELETE, BATCH_WRITE, CONDITION_CHECK),
        index_actions=(QUERY,),
    ),
    # Import and export jobs through the API: creates a job (PutItem), reads it (GetItem),
    # queues an import (UpdateItem), lists an import's bad rows (Query of its partition).
    "transfers": TableAccess(table_actions=(GET, QUERY, PUT, UPDATE)),
    # The jobs' steps: an import writes its rows as upserts (what users_bulk does, for groups
    # too) and its bad rows (BatchWriteItem); an export reads lists (GSI1, the table for
    # memberships, BatchGetItem of groups, the definitions partition); both read and record
    # the job (GetItem, UpdateItem). Never deletes.
    "transfer_jobs": TableAccess(
        table_actions=(GET, BATCH_GET, QUERY, PUT, UPDATE, BATCH_WRITE), index_actions=(QUERY,)
    ),
    # Usertour v1: the users, groups, events, content and content sessions functions' reads
    # and writes (it runs their handlers): what READ_WRITE holds; the v1 routes start no
    # session and author no content (no ConditionCheckItem).
    "usertour_v1": READ_WRITE,
    # Webhook subscriptions: single-item CRUD in the environment's subscriptions partition
    # (PutItem, GetItem, UpdateItem for PATCH/rotation/re-arming a probe, DeleteItem), Query of
    # that partition (list, the cap's count) and of a delivery log (list, recover); UpdateItem
    # logs a test or resend as pending; a delivery is found by id through GSI2 (Query).
    "webhook_subscriptions": TableAccess(
        table_actions=(GET, QUERY, PUT, UPDATE, DELETE), index_actions=(QUERY,)
    ),
    # The cascade: queries what a deleted object owned (table, GSI1, GSI3), deletes in batches.
    "cascade": TableAccess(table_actions=(QUERY, BATCH_WRITE), index_actions=(QUERY,)),
    # Webhook dispatch: lists an environment's subscriptions once per batch
    # (shared/store/subscriptions.list_all, one Query of the table, no index) and puts a
    # failing receiver's notifications in its backlog (BatchWriteItem, then an UpdateItem that
    # counts them; BatchWriteItem again to take them back if the circuit closed meanwhile).
    # The rest is SQS and S3.
    "webhook_dispatch": TableAccess(table_actions=(QUERY, UPDATE, BATCH_WRITE)),
    # Webhook delivery: reads the subscription (GetItem); records the attempt in the delivery
    # log, the failing streak, a slow mark, an opened circuit and an automatic disable (all
    # UpdateItem, which creates the log item when absent); moves a message to its
    # subscription's backlog (BatchWriteItem and an UpdateItem, as dispatch); drains a
    # backlog after a slow attempt answered (Query, BatchWriteItem). No index.
    "webhook_delivery": TableAccess(table_actions=(GET, QUERY, UPDATE, BATCH_WRITE)),
    # Webhook probe: finds due circuits (Query of GSI3), claims and schedules them and records
    # attempts (UpdateItem), reads a subscription (GetItem) and its backlog (Query), and removes
    # what it sent or gave up on (BatchWriteItem).
    "webhook_probe": TableAccess(
        table_actions=(GET, QUERY, UPDATE, BATCH_WRITE), index_actions=(QUERY,)
    ),
}


def access_for(function_name: str) -> TableAccess:
    """The function's declared access, or `READ_WRITE` for a function not listed yet."""
    return FUNCTION_ACCESS.get(function_name, READ_WRITE)
