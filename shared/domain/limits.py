"""Every limit of the API, in one table, and the pure checks that enforce them.

DynamoDB counts bytes (UTF-8) in keys, strings and items, so sizes here are bytes unless a
row says otherwise. Everything is checked before anything is written; over a limit is a 400
that names the field and the limit. README.md publishes `LIMITS` (see `markdown_table`), and a
test keeps the two in step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from shared.domain.errors import InvalidInput

# --- the numbers -------------------------------------------------------------------------------

# A user or group id is part of keys: a membership's index sort key holds a timestamp (29
# bytes), both ids and two separators, and DynamoDB caps a sort key at 1,024 bytes.
MAX_ID_BYTES = 480
# Ids a URL path cannot carry: `/` splits the path, and clients (and API Gateway) resolve the
# dot segments `.` and `..` before the request is routed.
UNROUTABLE_IDS = frozenset({".", ".."})
# User ids a path cannot reach: `/users/search` and `/users/bulk` are endpoints (API Gateway
# routes a static segment before `/users/{user_id}`), so such a user could never be read back.
RESERVED_USER_IDS = frozenset({"search", "bulk"})

MAX_NAME_LENGTH = 255  # attribute and event names: ASCII, so characters are bytes
MAX_ATTRIBUTES_PER_REQUEST = 100  # one UpdateItem's expression is at most 4 KB
MAX_ATTRIBUTES_PER_OBJECT = 1_000
MAX_STRING_BYTES = 32_768
MAX_LIST_LENGTH = 1_000
# The `email` attribute is indexed: the index partition key (environment + email) is at most
# 2,048 bytes.
MAX_EMAIL_BYTES = 1_024
# DynamoDB's item limit is 409,600 bytes; the margin covers what the estimate leaves out
# (the users-by-email index attributes, at most 3 KB).
MAX_OBJECT_BYTES = 400_000
MAX_EVENT_BYTES = 65_536
MAX_SEGMENT_NAME_BYTES = 1_024
MAX_SEGMENT_CONDITION_BYTES = 32_768
MAX_GROUPS_PER_UPSERT = 100
# Content (flows, checklists, launchers) and their versions, as authored through the API.
MAX_CONTENT_NAME_BYTES = 1_024
MAX_VERSION_DESCRIPTION_BYTES = 4_096
MAX_COMPONENT_NAME_BYTES = 1_024  # a question's or a checklist task's name
MAX_COMPONENTS_PER_VERSION = 100  # questions of a flow version, tasks of a checklist version
MAX_CHOICES = 50  # options of a multiple_choice question
MAX_CHOICE_BYTES = 1_024
# A text answer is stored twice (the answer, the `question_answered` event) and an answer of
# every question comes with a session's `answers`: 100 of them fit a response many times over.
MAX_ANSWER_BYTES = 8_192
MAX_BODY_BYTES = 262_144
# POST /users/bulk: Lambda takes a request of at most 6 MB (the whole event), and 1,000 user
# upserts fit API Gateway's 29 s with room to spare (measured: README).
MAX_BULK_USERS = 1_000
MAX_BULK_BODY_BYTES = 5_000_000
# An import job's file; each of its rows is a request body (MAX_BODY_BYTES).
MAX_IMPORT_FILE_BYTES = 1_073_741_824
MAX_QUERY_VALUE_LENGTH = 2_048
MAX_LIST_FILTER_VALUES = 100
# Lambda answers at most 6 MB; a list stops adding objects before its body reaches this.
MAX_RESPONSE_BYTES = 5_000_000
# Idempotency-Key: Stripe's length; printable ASCII, so characters are bytes (a header value
# with other bytes arrives differently decoded through different proxies).
MAX_IDEMPOTENCY_KEY_LENGTH = 255
# How long a key's first response is kept and replayed (Stripe's 24 hours).
IDEMPOTENCY_RETENTION_SECONDS = 24 * 60 * 60
# A replayed response is kept compressed in one item, under DynamoDB's 400 KB with a margin
# for the record's other attributes. Only responses with large `expand`s come near it.
MAX_REPLAYED_RESPONSE_BYTES = 350_000

# --- read budgets: what one request may read (docs/table-design.md states their cost) ---------
# A filtered list that pages through an index examines at most this many items, then answers
# with what it found, `has_more` and a cursor to continue.
FILTER_EXAMINE_BUDGET = 1_000
# ... and fewer users when the condition needs their memberships (a Query per user).
FILTER_EXAMINE_BUDGET_WITH_MEMBERSHIPS = 200
# A list sorted in memory (by attributes, or a group's members) reads at most this many
# users, groups or memberships; more is a 400 that says how to narrow it.
SORT_READ_BUDGET = 10_000
# Expansion builds at most this many related objects for one object, and for a whole request.
EXPAND_PER_OBJECT_BUDGET = 1_000
EXPAND_PER_REQUEST_BUDGET = 10_000
# Definitions of one environment read for a list (they are sorted in memory).
DEFINITIONS_READ_BUDGET = 10_000

# DynamoDB numbers: 38 significant digits, magnitudes from 1E-130 to below 1E+126.
NUMBER_DIGITS = 38
NUMBER_SMALLEST = Decimal("1E-130")
NUMBER_BOUND = Decimal("1E+126")
# Wide enough to hold exactly any number JSON can carry (Python parses at most 4,300 digits).
_WIDE = Context(prec=10_000, Emax=100_000, Emin=-100_000)


@dataclass(frozen=True)
class Limit:
    applies_to: str
    limit: str
    why: str


LIMITS: tuple[Limit, ...] = (
    Limit(
        "user or group id (`id`, `user_id`, `group_id`, in bodies, paths and filters; "
        "`starting_after`)",
        f"1 to {MAX_ID_BYTES} bytes (UTF-8); no control characters, no `/`, not `.` or `..`",
        "it is part of table and index keys; a URL path cannot carry `/`, `.` or `..`",
    ),
    Limit(
        "a user's `id` in an upsert",
        "not `search` or `bulk`",
        "`/users/search` and `/users/bulk` are endpoints: a user with such an id could not be "
        "read at `/users/{user_id}`",
    ),
    Limit(
        "attribute name, event name",
        f"1 to {MAX_NAME_LENGTH} characters of a-z, A-Z, 0-9, `_`, `-` and space",
        "the reference's naming rule",
    ),
    Limit(
        "attributes in one request, per object",
        f"{MAX_ATTRIBUTES_PER_REQUEST}",
        "one write is one DynamoDB update expression, at most 4 KB",
    ),
    Limit(
        "attributes of one user, group or membership (after the write)",
        f"{MAX_ATTRIBUTES_PER_OBJECT:,}",
        "keeps objects and their definitions readable",
    ),
    Limit("string value", f"{MAX_STRING_BYTES:,} bytes (UTF-8)", "a bounded share of an item"),
    Limit(
        "list value (after `append`/`prepend`)",
        f"{MAX_LIST_LENGTH:,} strings",
        "a bounded share of an item",
    ),
    Limit(
        "number value (also the result of `add`/`subtract`, and strings stored as numbers)",
        f"0, or a magnitude from 1e-130 to below 1e126, with at most {NUMBER_DIGITS} "
        "significant digits",
        "DynamoDB's number type",
    ),
    Limit(
        "a user's `email` attribute (a string), and the `email` filter",
        f"{MAX_EMAIL_BYTES:,} bytes (UTF-8)",
        "it is an index partition key (at most 2,048 bytes with the environment)",
    ),
    Limit(
        "a user, group or membership after the write",
        f"{MAX_OBJECT_BYTES:,} bytes, counted as DynamoDB does: names and values in UTF-8, "
        "21 bytes a number",
        "DynamoDB's item limit (400 KB) with a margin for index attributes",
    ),
    Limit(
        "an event (ids, name, time and attributes, as stored)",
        f"{MAX_EVENT_BYTES:,} bytes",
        "events are many and each is stored three or four times (the table and its "
        "indexes); a page of them must fit in a response",
    ),
    Limit("segment `name`", f"1 to {MAX_SEGMENT_NAME_BYTES:,} bytes (UTF-8)", "stored whole"),
    Limit(
        "segment `condition`",
        f"{MAX_SEGMENT_CONDITION_BYTES:,} bytes as JSON (UTF-8)",
        "stored whole as text",
    ),
    Limit("content `name`", f"1 to {MAX_CONTENT_NAME_BYTES:,} bytes (UTF-8)", "stored whole"),
    Limit(
        "content version `description`",
        f"0 to {MAX_VERSION_DESCRIPTION_BYTES:,} bytes (UTF-8)",
        "stored whole",
    ),
    Limit(
        "question or checklist task `name`",
        f"1 to {MAX_COMPONENT_NAME_BYTES:,} bytes (UTF-8)",
        "stored in its version",
    ),
    Limit(
        "questions of a flow version, tasks of a checklist version",
        f"{MAX_COMPONENTS_PER_VERSION}",
        "a version is one item, read whole by every session step",
    ),
    Limit(
        "`choices` of a multiple_choice question",
        f"1 to {MAX_CHOICES}, distinct, each 1 to {MAX_CHOICE_BYTES:,} bytes (UTF-8)",
        "stored in its version; a list answer is checked against them",
    ),
    Limit(
        "a text or multiline_text answer",
        f"1 to {MAX_ANSWER_BYTES:,} bytes (UTF-8); a `text` answer is one line",
        "stored in the answer and in its `question_answered` event",
    ),
    Limit(
        "`groups` or `memberships` in one user upsert",
        f"{MAX_GROUPS_PER_UPSERT}",
        "every item is checked, then written, in one request",
    ),
    Limit("request body", f"{MAX_BODY_BYTES:,} bytes", "parsing stays cheap and bounded"),
    Limit(
        "`users` of one `POST /users/bulk`",
        f"1 to {MAX_BULK_USERS:,}, in a body of at most {MAX_BULK_BODY_BYTES:,} bytes",
        "Lambda's 6 MB request limit; the work fits API Gateway's 29 s",
    ),
    Limit(
        "an import file; one of its rows",
        f"{MAX_IMPORT_FILE_BYTES:,} bytes; {MAX_BODY_BYTES:,} bytes (as a request body)",
        "a job reads it in chunks; a row is one upsert",
    ),
    Limit(
        "`Idempotency-Key` header",
        f"1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters of printable ASCII (space to `~`); "
        f"kept {IDEMPOTENCY_RETENTION_SECONDS // 3600} hours",
        "Stripe's rule; other bytes arrive decoded differently through different proxies",
    ),
    Limit(
        "a response replayed for an `Idempotency-Key`",
        f"{MAX_REPLAYED_RESPONSE_BYTES:,} bytes compressed (zlib); a larger one is answered "
        "on a retry with a `409` (`idempotency_response_unavailable`)",
        "it is kept in one item (400 KB); only large `expand`s come near it",
    ),
    Limit(
        "a query parameter's value",
        f"{MAX_QUERY_VALUE_LENGTH:,} characters",
        "parsing stays cheap and bounded",
    ),
    Limit(
        "values of one repeated parameter (`expand[]`, `order_by[]`, `event_name[]`)",
        f"{MAX_LIST_FILTER_VALUES}",
        "each one is work (an `event_name` is one read)",
    ),
    Limit(
        "a list response",
        f"`limit` (1 to 100) objects, and fewer once its body reaches {MAX_RESPONSE_BYTES:,} "
        "bytes (`has_more` stays true)",
        "Lambda's 6 MB response limit",
    ),
)

README_START = "<!-- limits:start (generated from shared/domain/limits.py) -->"
README_END = "<!-- limits:end -->"


def markdown_table() -> str:
    """The limits as README.md shows them, between README_START and README_END."""
    rows = ["| what | limit | why |", "| --- | --- | --- |"]
    rows += [f"| {limit.applies_to} | {limit.limit} | {limit.why} |" for limit in LIMITS]
    return "\n".join(rows)


# --- checks ------------------------------------------------------------------------------------


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def check_id(value: str, field: str) -> str:
    """A user or group id that fits every key and can be addressed in a URL path."""
    problem = id_problem(value)
    if problem:
        raise InvalidInput(f"Invalid `{field}`: {problem}.")
    return value


def id_problem(value: str) -> str | None:
    """What keeps `value` from being an id, or None."""
    if not value:
        return "must not be empty"
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        return "must not contain control characters"
    if "/" in value or value in UNROUTABLE_IDS:
        return "an id cannot contain `/` or be `.` or `..` (a URL path could not carry it)"
    if not is_unicode(value):
        return "not valid Unicode text"
    if utf8_size(value) > MAX_ID_BYTES:
        return f"at most {MAX_ID_BYTES} bytes (UTF-8)"
    return None


def user_id_problem(value: str) -> str | None:
    """What keeps `value` from being a new user's id, or None."""
    if value in RESERVED_USER_IDS:
        return f"{value!r} is reserved: /users/{value} is an endpoint, not a user"
    return id_problem(value)


def is_unicode(value: str) -> bool:
    """False for text with lone surrogates, which UTF-8 (and so DynamoDB) cannot hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_string(value: str, field: str) -> None:
    if not is_unicode(value):
        raise InvalidInput(f"Invalid `{field}`: not valid Unicode text.")
    if utf8_size(value) > MAX_STRING_BYTES:
        raise InvalidInput(f"Invalid `{field}`: at most {MAX_STRING_BYTES:,} bytes (UTF-8).")


def check_text(value: str, field: str, max_bytes: int, *, allow_empty: bool = False) -> str:
    """Text stored whole (names, descriptions, answers): valid Unicode within `max_bytes`."""
    if not is_unicode(value):
        raise InvalidInput(f"Invalid `{field}`: not valid Unicode text.")
    if not value and not allow_empty:
        raise InvalidInput(f"Invalid `{field}`: must not be empty.")
    if utf8_size(value) > max_bytes:
        raise InvalidInput(f"Invalid `{field}`: at most {max_bytes:,} bytes (UTF-8).")
    return value


def check_email(value: str, field: str) -> None:
    if utf8_size(value) > MAX_EMAIL_BYTES:
        raise InvalidInput(
            f"Invalid `{field}`: an email is at most {MAX_EMAIL_BYTES:,} bytes (UTF-8)."
        )


def check_list_length(values: list[Any], field: str) -> None:
    if len(values) > MAX_LIST_LENGTH:
        raise InvalidInput(f"Invalid `{field}`: a list holds at most {MAX_LIST_LENGTH:,} values.")


def check_number(value: int | float, field: str) -> None:
    """A number DynamoDB can store exactly as given."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"Invalid `{field}`: must be a finite number.")
    if not is_storable_number(value):
        raise InvalidInput(
            f"Invalid `{field}`: numbers are 0 or have a magnitude from 1e-130 to below 1e126, "
            f"with at most {NUMBER_DIGITS} significant digits."
        )


def is_storable_number(value: int | float) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False
    number = _decimal(value)
    if number == 0:
        return True
    digits = number.normalize(_WIDE).as_tuple().digits
    return NUMBER_SMALLEST <= abs(number) < NUMBER_BOUND and len(digits) <= NUMBER_DIGITS


def exact_sum(base: int | float | Decimal, value: int | float) -> int | Decimal | None:
    """`base + value` as DynamoDB's `ADD` computes it (exactly, in decimal), or None when the
    result is not a storable number."""
    total = _WIDE.add(_decimal(base), _decimal(value))
    if total == 0:
        return 0
    digits = total.normalize(_WIDE).as_tuple().digits
    if not (NUMBER_SMALLEST <= abs(total) < NUMBER_BOUND and len(digits) <= NUMBER_DIGITS):
        return None
    return int(total) if total == total.to_integral_value() else total


def _decimal(value: int | float | Decimal) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def storable_decimal(value: int | float) -> Decimal:
    """The Decimal boto3 sends for a number: trailing zeros trimmed, so a large whole number
    within 38 significant digits is not refused as 'rounded'."""
    number = _decimal(value)
    return number.normalize(_WIDE) if number else Decimal(0)


def item_size(item: Mapping[str, Any]) -> int:
    """An upper bound of an item's size as DynamoDB counts it (names plus values)."""
    return sum(utf8_size(name) + value_size(value) for name, value in item.items())


def value_size(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int | float | Decimal):
        return 21  # DynamoDB: at most 21 bytes a number
    if isinstance(value, str):
        return utf8_size(value)
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, Mapping):
        return 3 + sum(1 + utf8_size(str(k)) + value_size(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return 3 + sum(1 + value_size(v) for v in value)
    if isinstance(value, set | frozenset):
        return sum(value_size(v) for v in value)
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def check_object_size(item: Mapping[str, Any], field: str, what: str) -> None:
    size = item_size(item)
    if size > MAX_OBJECT_BYTES:
        raise InvalidInput(
            f"Invalid `{field}`: the {what} would hold {size:,} bytes after this write; "
            f"an object holds at most {MAX_OBJECT_BYTES:,} bytes (UTF-8)."
        )


def check_attribute_count(count: int, field: str, what: str) -> None:
    if count > MAX_ATTRIBUTES_PER_OBJECT:
        raise InvalidInput(
            f"Invalid `{field}`: the {what} would have {count:,} attributes after this write; "
            f"an object has at most {MAX_ATTRIBUTES_PER_OBJECT:,}."
        )


def rewrite_readme(path: str = "README.md") -> None:
    """Put the current table between the README markers (`python -m shared.domain.limits`)."""
    with open(path, encoding="utf-8") as file:
        text = file.read()
    start = text.index(README_START) + len(README_START)
    end = text.index(README_END)
    with open(path, "w", encoding="utf-8") as file:
        file.write(f"{text[:start]}\n{markdown_table()}\n{text[end:]}")


if __name__ == "__main__":
    rewrite_readme()
