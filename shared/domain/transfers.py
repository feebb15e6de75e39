"""Import and export files as pure rules: their formats, how a row becomes a write, how an
object becomes a row, and how a job's progress reads.

An import row is a POST /users (or POST /groups) body: a JSON object per NDJSON line, or a CSV
record whose `id` column is the id and whose other columns are attributes (`name`, or
`name:type` with a type of the reference's `data_type`, e.g. `logins:number`; an empty cell
leaves the attribute alone; a `list` cell is a JSON array of strings). The fields an export
writes that a body does not take (`object`, `created_at`, and the expansions, null) are
accepted and ignored, so an export is an import file. Rows must be idempotent: `add` and
`subtract` are refused, so the same file imported twice changes nothing the second time.

An export row is the object as the API shows it (NDJSON), or, in CSV, users and groups as
`id` plus one `name:type` column per attribute definition (a file the import reads back), and
events and content sessions as their fixed fields.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain import limits
from shared.domain.attributes import DataType, validate_name
from shared.domain.errors import InvalidInput


class Kind(enum.StrEnum):
    IMPORT = "import"
    EXPORT = "export"


class ObjectType(enum.StrEnum):
    USERS = "users"
    GROUPS = "groups"
    EVENTS = "events"
    CONTENT_SESSIONS = "content_sessions"


IMPORTABLE = (ObjectType.USERS, ObjectType.GROUPS)


class Format(enum.StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


class Status(enum.StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"  # an import whose file is not uploaded yet
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED = (Status.SUCCEEDED, Status.FAILED)


class JobFailed(Exception):
    """A job cannot go on (no file, a CSV header without an `id` column...): it fails with
    this message, and what it did so far stays."""

    def __init__(self, message: str, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.code = code


# What an exported object holds that an upsert body does not take: its `object` name, its
# `created_at`, and its expandable fields (null).
_OBJECT_NAMES = {ObjectType.USERS: "user", ObjectType.GROUPS: "group"}
_EXPANDABLE = {
    ObjectType.USERS: ("groups", "memberships"),
    ObjectType.GROUPS: ("memberships", "users"),
}
_NOT_IDEMPOTENT = ("add", "subtract")
ID_COLUMN = "id"


# --- reading files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of a file: its bytes without the line break (None when it was longer than
    allowed: skipped), and where the next line starts."""

    data: bytes | None
    end: int


def lines(chunks: Iterable[bytes], *, start: int = 0, max_bytes: int) -> Iterator[Line]:
    """The lines of a byte stream that begins at offset `start`; a line past `max_bytes` is
    given as None (its bytes are read and dropped, never held)."""
    position = start
    pending = bytearray()
    dropping = False
    for chunk in chunks:
        offset = 0
        while offset < len(chunk):
            newline = chunk.find(b"\n", offset)
            end = len(chunk) if newline < 0 else newline
            if not dropping:
                if len(pending) + end - offset > max_bytes:
                    dropping = True
                    pending.clear()
                else:
                    pending += chunk[offset:end]
            if newline < 0:
                position += len(chunk) - offset
                break
            position += end - offset + 1
            yield Line(None if dropping else bytes(pending).rstrip(b"\r"), position)
            pending.clear()
            dropping = False
            offset = newline + 1
    if pending or dropping:
        yield Line(None if dropping else bytes(pending).rstrip(b"\r"), position)


@dataclass(frozen=True)
class RawRow:
    """One record of an import file: the line it starts on (1-based), its text (None when it
    cannot be read: `error` says why), and where the next one starts (byte offset, and the
    number of lines read so far)."""

    line: int
    text: str | None
    error: str | None
    end: int
    lines_read: int


def raw_rows(
    chunks: Iterable[bytes], *, start: int, lines_read: int, is_csv: bool, max_bytes: int
) -> Iterator[RawRow]:
    """The records of a file read from byte `start`, after `lines_read` lines: NDJSON lines,
    or CSV records (which continue on the next line inside a quoted cell). Blank records are
    skipped."""
    pending: list[str] = []
    first_line = 0
    size = 0
    number = lines_read
    end = start
    for item in lines(chunks, start=start, max_bytes=max_bytes):
        number += 1
        end = item.end
        text: str | None = None
        error: str | None = None
        if item.data is None:
            error = f"The row is longer than {max_bytes:,} bytes."
        else:
            try:
                text = decode(item.data, first=number == 1)
            except InvalidInput as refused:
                error = str(refused)
        if not pending:
            first_line = number
        if error is not None or text is None:
            yield RawRow(first_line, None, error, item.end, number)
            pending, size = [], 0
            continue
        if not is_csv:
            if text.strip():
                yield RawRow(number, text, None, item.end, number)
            continue
        pending.append(text)
        size += len(item.data or b"") + 1
        joined = "\n".join(pending)
        if csv_incomplete(joined):
            if size > max_bytes:
                yield RawRow(
                    first_line,
                    None,
                    f"The row is longer than {max_bytes:,} bytes.",
                    item.end,
                    number,
                )
                pending, size = [], 0
            continue
        pending, size = [], 0
        if joined.strip():
            yield RawRow(first_line, joined, None, item.end, number)
    if pending:
        yield RawRow(first_line, None, "The row ends inside a quoted cell.", end, number)


def decode(data: bytes, *, first: bool) -> str:
    """A line as text (UTF-8; a byte order mark opening the file is dropped)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The row is not UTF-8 text.") from None
    return text.removeprefix("\ufeff") if first else text


def ndjson_row(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InvalidInput(f"The row is not valid JSON: {error}.") from None
    if not isinstance(value, dict):
        raise InvalidInput("The row must be a JSON object.")
    return value


@dataclass(frozen=True)
class Column:
    name: str  # "id", or an attribute name
    data_type: DataType | None = None


def csv_incomplete(text: str) -> bool:
    """Whether a CSV record's text stops inside a quoted cell (its next line continues it):
    quotes come in pairs in a complete record (an escaped quote is two)."""
    return text.count('"') % 2 == 1


def csv_record(text: str) -> list[str]:
    """One CSV record from its text (which may span lines inside quotes)."""
    try:
        return next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration) as error:
        raise InvalidInput(f"The row is not valid CSV: {error}.") from None


def csv_header(cells: Sequence[str]) -> list[Column]:
    """The header record: an `id` column and attribute columns (`name` or `name:type`)."""
    columns: list[Column] = []
    for cell in cells:
        name, colon, type_name = cell.strip().partition(":")
        data_type: DataType | None = None
        if colon:
            try:
                data_type = DataType(type_name)
            except ValueError:
                accepted = ", ".join(t.value for t in DataType)
                raise InvalidInput(
                    f"Invalid CSV header {cell!r}: the type after `:` is one of {accepted}."
                ) from None
        if name != ID_COLUMN:
            try:
                validate_name(name)
            except InvalidInput as error:
                raise InvalidInput(f"Invalid CSV header {cell!r}: {error}") from None
        elif data_type is not None:
            raise InvalidInput("Invalid CSV header: the `id` column takes no type.")
        if any(c.name == name for c in columns):
            raise InvalidInput(f"Invalid CSV header: column {name!r} is given twice.")
        columns.append(Column(name, data_type))
    if not any(c.name == ID_COLUMN for c in columns):
        raise InvalidInput("Invalid CSV header: it needs an `id` column.")
    return columns


def csv_body(columns: Sequence[Column], cells: Sequence[str]) -> dict[str, Any]:
    """A CSV record as an upsert body."""
    if len(cells) != len(columns):
        raise InvalidInput(f"The row has {len(cells)} cells; the header has {len(columns)}.")
    body: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for column, cell in zip(columns, cells, strict=True):
        if column.name == ID_COLUMN:
            body["id"] = cell
        elif cell != "":
            attributes[column.name] = _cell_value(column, cell)
    if attributes:
        body["attributes"] = attributes
    return body


def _cell_value(column: Column, cell: str) -> Any:
    if column.data_type is None:
        return cell
    if column.data_type is DataType.LIST:
        try:
            values = json.loads(cell)
        except ValueError:
            values = None
        if not isinstance(values, list):
            raise InvalidInput(
                f"Invalid `attributes.{column.name}`: a list cell is a JSON array of strings."
            )
        return {"set": values, "data_type": DataType.LIST.value}
    return {"set": cell, "data_type": column.data_type.value}


def import_body(object_type: ObjectType, row: dict[str, Any]) -> dict[str, Any]:
    """The upsert body of a row: what an export adds is dropped, and only idempotent
    operations pass (a 400 for the row otherwise)."""
    body = dict(row)
    if body.get("object") == _OBJECT_NAMES[object_type]:
        del body["object"]
    if isinstance(body.get("created_at"), str):
        del body["created_at"]
    for field in _EXPANDABLE[object_type]:
        if field in body and body[field] is None:
            del body[field]
    _check_idempotent(body)
    return body


def _check_idempotent(body: Mapping[str, Any]) -> None:
    def attributes(path: str, value: Any) -> None:
        if not isinstance(value, dict):
            return
        for name, change in value.items():
            if isinstance(change, dict) and any(op in change for op in _NOT_IDEMPOTENT):
                raise InvalidInput(
                    f"Invalid `{path}.{name}`: an import row cannot `add` or `subtract` "
                    "(importing the file again would count twice); set the value instead."
                )

    attributes("attributes", body.get("attributes"))
    for key, inner in (("groups", None), ("memberships", "group")):
        items = body.get(key)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            attributes(f"{key}[{index}].attributes", item.get("attributes"))
            nested = item.get(inner) if inner else None
            if isinstance(nested, dict):
                attributes(f"{key}[{index}].{inner}.attributes", nested.get("attributes"))


def row_id(body: Mapping[str, Any]) -> str | None:
    """The id a row names, if any (for reports, and to keep one id's rows in order)."""
    value = body.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else None


# --- writing files ------------------------------------------------------------------------------


def ndjson_line(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


EVENT_COLUMNS = ("id", "name", "user_id", "group_id", "time", "created_at", "attributes")
SESSION_COLUMNS = (
    "id",
    "content_id",
    "version_id",
    "user_id",
    "group_id",
    "status",
    "progress",
    "completed",
    "is_preview",
    "created_at",
    "last_activity_at",
    "completed_at",
    "ended_at",
)


def csv_columns(object_type: ObjectType, definitions: Mapping[str, str]) -> list[str]:
    """The header of an export: users and groups by their attribute definitions (name ->
    data type), so the import reads the file back with the same types."""
    if object_type is ObjectType.EVENTS:
        return list(EVENT_COLUMNS)
    if object_type is ObjectType.CONTENT_SESSIONS:
        return list(SESSION_COLUMNS)
    return [ID_COLUMN, *(f"{name}:{definitions[name]}" for name in sorted(definitions))]


def csv_line(cells: Sequence[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue().encode()


def csv_cells(object_type: ObjectType, columns: Sequence[str], obj: Mapping[str, Any]) -> list[str]:
    if object_type in IMPORTABLE:
        attributes = obj["attributes"]
        return [obj["id"], *(_cell(attributes.get(c.partition(":")[0])) for c in columns[1:])]
    return [_cell(obj.get(column)) for column in columns]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def object_lookup(obj: Mapping[str, Any]) -> Any:
    """How an export's condition reads an event or a content session: an unprefixed name is
    the object's own field when it has one (`name`, `user_id`, `status`, `progress`...), else
    one of its `attributes`."""

    def lookup(scope: str, name: str) -> Any:
        if scope != "user":
            return None
        if name in obj and name not in ("attributes", "object"):
            value = obj[name]
            return float(value) if name == "progress" and isinstance(value, str) else value
        attributes = obj.get("attributes")
        return attributes.get(name) if isinstance(attributes, dict) else None

    return lookup


def check_condition_size(text: str) -> None:
    if limits.utf8_size(text) > limits.MAX_SEGMENT_CONDITION_BYTES:
        raise InvalidInput(
            f"Invalid `condition`: at most {limits.MAX_SEGMENT_CONDITION_BYTES:,} bytes as JSON."
        )
