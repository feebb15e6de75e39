"""Query parameters shared by every list and get: pagination, ordering, expansion, filters.

One implementation for every resource: a resource declares what it accepts in a `ListSpec`;
a bad value of a documented parameter is a 400 that names it. Any other parameter is
ignored, as the hosted API does (clients written against it send some, e.g. `sort=asc`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from shared.domain import limits
from shared.domain.expansion import validate_expand_paths
from shared.domain.limits import MAX_LIST_FILTER_VALUES, MAX_RESPONSE_BYTES
from shared.domain.limits import MAX_QUERY_VALUE_LENGTH as MAX_VALUE_LENGTH
from shared.http.errors import BadRequest

DEFAULT_LIMIT = 10
MAX_LIMIT = 100

QueryParams = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class OrderField:
    field: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


@dataclass(frozen=True)
class ListSpec:
    """What one list endpoint accepts."""

    object_type: str
    order_fields: frozenset[str]
    default_order: str = "created_at"
    filters: frozenset[str] = frozenset()  # single-valued filter parameters
    list_filters: frozenset[str] = frozenset()  # filters taking `name` and/or `name[]`
    id_filters: frozenset[str] = frozenset()  # filters holding a user or group id
    # `starting_after` is a position the list itself made (a search), not an object id.
    opaque_cursor: bool = False


@dataclass(frozen=True)
class ListQuery:
    limit: int
    starting_after: str | None
    order_by: tuple[OrderField, ...]
    expand: tuple[str, ...]
    filters: dict[str, str] = field(default_factory=dict)
    list_filters: dict[str, tuple[str, ...]] = field(default_factory=dict)


def parse_list_query(params: QueryParams | None, spec: ListSpec) -> ListQuery:
    params = params or {}
    limit_text = _single(params, "limit")
    limit = DEFAULT_LIMIT if limit_text is None else _parse_limit(limit_text)
    starting_after = _single(params, "starting_after")
    if starting_after is not None and not spec.opaque_cursor:
        # Every object id fits the id rules, so a longer cursor names no object (and no key).
        limits.check_id(starting_after, "starting_after")
    filters = {name: value for name in spec.filters if (value := _single(params, name)) is not None}
    for name in spec.id_filters & filters.keys():
        limits.check_id(filters[name], name)
    return ListQuery(
        limit=limit,
        starting_after=starting_after,
        order_by=_parse_order_by(params, spec),
        expand=parse_expand(params, spec.object_type),
        filters=filters,
        list_filters={
            name: tuple(values) for name in spec.list_filters if (values := _values(params, name))
        },
    )


def parse_expand(
    params: QueryParams | None,
    object_type: str,
    extra_allowed: frozenset[str] | None = None,
) -> tuple[str, ...]:
    """`expand` / `expand[]` for any endpoint returning `object_type`.

    `extra_allowed` once listed the other parameters a route accepted; undocumented ones are
    now ignored, so it is unused, kept only until its last caller (the webhook subscriptions
    handler, being rewritten alongside) stops passing it.
    """
    paths = _values(params or {}, "expand")
    validate_expand_paths(object_type, paths)
    return tuple(dict.fromkeys(paths))


def list_object(
    data: list[dict[str, Any]],
    *,
    has_more: bool,
    path: str,
    params: QueryParams | None,
    last_id: str | None,
) -> dict[str, Any]:
    """The spec's list object; `next_page_url` is always set and keeps the other parameters.

    Objects past MAX_RESPONSE_BYTES (as JSON) are left for the next page, so a page of large
    objects still fits Lambda's 6 MB response.
    """
    size = 0
    for count, obj in enumerate(data):
        size += len(json.dumps(obj, separators=(",", ":"))) + 1
        if count and size > MAX_RESPONSE_BYTES:
            data, has_more, last_id = data[:count], True, str(data[count - 1]["id"])
            break
    pairs = [(name, value) for name, values in (params or {}).items() for value in values]
    url = _with_query(path, pairs)
    cursor = last_id or next((v for k, v in pairs if k == "starting_after"), None)
    next_pairs = [(k, v) for k, v in pairs if k != "starting_after"]
    if cursor is not None:
        next_pairs.append(("starting_after", cursor))
    return {
        "object": "list",
        "data": data,
        "has_more": has_more,
        "url": url,
        "next_page_url": _with_query(path, next_pairs),
    }


def _with_query(path: str, pairs: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(pairs)}" if pairs else path


def _single(params: QueryParams, name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadRequest(f"Query parameter `{name}` was given more than once.")
    value = values[0]
    if len(value) > MAX_VALUE_LENGTH:
        raise BadRequest(f"Query parameter `{name}` is longer than {MAX_VALUE_LENGTH} characters.")
    return value


def _values(params: QueryParams, name: str) -> list[str]:
    """`name` and `name[]` together, in order."""
    values = [*params.get(name, ()), *params.get(f"{name}[]", ())]
    if len(values) > MAX_LIST_FILTER_VALUES:
        raise BadRequest(f"Invalid `{name}`: at most {MAX_LIST_FILTER_VALUES} values.")
    for value in values:
        if not value or len(value) > MAX_VALUE_LENGTH:
            raise BadRequest(f"Invalid `{name}` value {value[:50]!r}.")
    return values


def _parse_limit(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        raise BadRequest(f"Invalid `limit` {text!r}: must be a whole number.") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"Invalid `limit` {limit}: must be between 1 and {MAX_LIMIT}.")
    return limit


def _parse_order_by(params: QueryParams, spec: ListSpec) -> tuple[OrderField, ...]:
    given = _values(params, "order_by")
    if not spec.order_fields:
        if given:
            raise BadRequest("Invalid `order_by`: this list comes in one order and takes none.")
        return ()
    values = given or [spec.default_order]
    fields: list[OrderField] = []
    for value in values:
        descending = value.startswith("-")
        name = value[1:] if descending else value
        if name not in spec.order_fields:
            accepted = ", ".join(sorted(spec.order_fields))
            raise BadRequest(f"Invalid `order_by` field {name!r}. Accepted: {accepted}.")
        if any(f.field == name for f in fields):
            raise BadRequest(f"Invalid `order_by`: {name!r} is given twice.")
        fields.append(OrderField(name, descending))
    return tuple(fields)
