"""Import and export files as pure rules: reading rows, turning them into writes, and objects
into rows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import transfers as rules
from shared.domain.attributes import DataType
from shared.domain.errors import InvalidInput
from shared.domain.transfers import Column, ObjectType


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.binary(max_size=12).filter(lambda b: b"\n" not in b), max_size=8),
    size=st.integers(min_value=1, max_value=7),
    crlf=st.booleans(),
)
def test_lines_are_the_rows_whatever_the_chunks_and_their_ends_are_offsets(
    rows: list[bytes], size: int, crlf: bool
) -> None:
    ending = b"\r\n" if crlf else b"\n"
    data = b"".join(row + ending for row in rows)
    found = list(rules.lines(split(data, size), max_bytes=100))
    assert [line.data for line in found] == [row.rstrip(b"\r") for row in rows]
    assert [line.end for line in found] == [
        len(b"".join(r + ending for r in rows[: i + 1])) for i in range(len(rows))
    ]


def test_a_line_past_the_limit_is_dropped_unread_and_the_next_one_is_whole() -> None:
    data = b"short\n" + b"x" * 50 + b"\nnext"
    found = list(rules.lines(split(data, 4), max_bytes=10))
    assert [line.data for line in found] == [b"short", None, b"next"]
    assert found[-1].end == len(data)


def test_resuming_at_an_offset_counts_from_it() -> None:
    found = list(rules.lines([b"c\nd\n"], start=100, max_bytes=10))
    assert [(line.data, line.end) for line in found] == [(b"c", 102), (b"d", 104)]


def test_ndjson_rows_skip_blank_lines_and_report_bad_ones_by_line() -> None:
    data = '\ufeff{"id": "a"}\n\n  \n' + '{"id": "b"}\n'
    rows = list(
        rules.raw_rows(
            [data.encode(), b"\xff\xfe\n"], start=0, lines_read=0, is_csv=False, max_bytes=1000
        )
    )
    assert [(r.line, r.text, r.error) for r in rows] == [
        (1, '{"id": "a"}', None),
        (4, '{"id": "b"}', None),
        (5, None, "The row is not UTF-8 text."),
    ]
    assert rows[1].lines_read == 4 and rows[1].end == len(data.encode())


def test_csv_records_continue_inside_quotes_and_start_on_their_first_line() -> None:
    data = b'id,bio\nu1,"two\nlines"\nu2,plain\nu3,"never closed\n'
    rows = list(rules.raw_rows([data], start=0, lines_read=0, is_csv=True, max_bytes=1000))
    assert [(r.line, r.text) for r in rows] == [
        (1, "id,bio"),
        (2, 'u1,"two\nlines"'),
        (4, "u2,plain"),
        (5, None),
    ]
    assert rows[-1].error == "The row ends inside a quoted cell."
    assert rules.csv_record(rows[1].text or "") == ["u1", "two\nlines"]


def test_csv_header_names_id_and_typed_attribute_columns() -> None:
    header = rules.csv_header(["id", "name", "logins:number", "tags:list"])
    assert header == [
        Column("id"),
        Column("name"),
        Column("logins", DataType.NUMBER),
        Column("tags", DataType.LIST),
    ]


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["name"], "needs an `id` column"),
        (["id", "n:money"], "the type after `:`"),
        (["id", "a b!"], "Invalid CSV header"),
        (["id", "x", "x:number"], "given twice"),
        (["id:string"], "takes no type"),
    ],
)
def test_bad_csv_headers(cells: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        rules.csv_header(cells)


def test_a_csv_row_is_an_upsert_body_and_an_empty_cell_changes_nothing() -> None:
    columns = rules.csv_header(["id", "name", "logins:number", "tags:list", "vip:boolean"])
    body = rules.csv_body(columns, ["u1", "Ann", "12", '["a","b"]', ""])
    assert body == {
        "id": "u1",
        "attributes": {
            "name": "Ann",
            "logins": {"set": "12", "data_type": "number"},
            "tags": {"set": ["a", "b"], "data_type": "list"},
        },
    }
    with pytest.raises(InvalidInput, match="2 cells; the header has 5"):
        rules.csv_body(columns, ["u1", "Ann"])
    with pytest.raises(InvalidInput, match="JSON array of strings"):
        rules.csv_body(columns, ["u1", "", "", "a,b", ""])


def test_an_exported_object_is_an_import_row() -> None:
    exported = {
        "id": "u1",
        "object": "user",
        "attributes": {"a": 1},
        "created_at": "2026-01-01T00:00:00.000+00:00",
        "groups": None,
        "memberships": None,
    }
    assert rules.import_body(ObjectType.USERS, exported) == {"id": "u1", "attributes": {"a": 1}}
    group: dict[str, Any] = {
        "id": "g",
        "object": "group",
        "attributes": {},
        "memberships": None,
        "users": None,
    }
    assert rules.import_body(ObjectType.GROUPS, group) == {"id": "g", "attributes": {}}
    # What an export does not write stays, for the body's own checks.
    assert rules.import_body(ObjectType.GROUPS, {"id": "g", "object": "user"})["object"] == "user"


@pytest.mark.parametrize(
    ("row", "path"),
    [
        ({"id": "u", "attributes": {"n": {"add": 1}}}, "attributes.n"),
        ({"id": "u", "groups": [{"id": "g", "attributes": {"n": {"subtract": 1}}}]}, "groups[0]"),
        (
            {"id": "u", "memberships": [{"group": {"id": "g", "attributes": {"n": {"add": 2}}}}]},
            "memberships[0].group.attributes.n",
        ),
    ],
)
def test_rows_that_would_count_twice_are_refused(row: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInput, match=rf"Invalid `{re.escape(path)}.*cannot `add`"):
        rules.import_body(ObjectType.USERS, row)


def test_idempotent_operations_pass() -> None:
    row = {"id": "u", "attributes": {"t": {"append": "x"}, "c": {"set_once": 1}, "d": None}}
    assert rules.import_body(ObjectType.USERS, row) == row


def test_a_csv_export_is_typed_by_the_definitions_and_reads_back() -> None:
    columns = rules.csv_columns(ObjectType.USERS, {"plan": "string", "n": "number", "t": "list"})
    assert columns == ["id", "n:number", "plan:string", "t:list"]
    user = {"id": "u,1", "attributes": {"plan": 'say "hi"', "n": 2.5, "t": ["a", "b"]}}
    line = rules.csv_line(rules.csv_cells(ObjectType.USERS, columns, user))
    cells = rules.csv_record(line.decode().rstrip("\n"))
    body = rules.csv_body(rules.csv_header(rules.csv_record(",".join(columns))), cells)
    assert body == {
        "id": "u,1",
        "attributes": {
            "n": {"set": "2.5", "data_type": "number"},
            "plan": {"set": 'say "hi"', "data_type": "string"},
            "t": {"set": ["a", "b"], "data_type": "list"},
        },
    }


def test_event_and_session_conditions_read_fields_then_attributes() -> None:
    lookup = rules.object_lookup(
        {"id": "e", "name": "signed_up", "progress": "0.5000", "attributes": {"plan": "pro"}}
    )
    assert lookup("user", "name") == "signed_up"
    assert lookup("user", "plan") == "pro"
    assert lookup("user", "progress") == 0.5
    assert lookup("group", "plan") is None
    assert lookup("user", "missing") is None
