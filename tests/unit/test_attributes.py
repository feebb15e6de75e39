"""Attribute values and operations, as the reference's "Attributes" section describes them."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.attributes import (
    AttributeChange,
    DataType,
    Operation,
    apply_changes,
    parse_changes,
)
from shared.domain.errors import InvalidInput


def change(raw: object, name: str = "x") -> AttributeChange:
    return parse_changes({name: raw})[0]


@pytest.mark.parametrize(
    ("raw", "operation", "value", "data_type"),
    [
        ("Pro", Operation.SET, "Pro", DataType.STRING),
        (17, Operation.SET, 17, DataType.NUMBER),
        (12.5, Operation.SET, 12.5, DataType.NUMBER),
        (True, Operation.SET, True, DataType.BOOLEAN),
        (
            "2022-09-29T12:34:56.000+00:00",
            Operation.SET,
            "2022-09-29T12:34:56.000+00:00",
            DataType.DATETIME,
        ),
        (
            "2022-09-29T14:34:56+02:00",
            Operation.SET,
            "2022-09-29T12:34:56.000+00:00",
            DataType.DATETIME,
        ),
        (["a", "b", "a"], Operation.SET, ["a", "b"], DataType.LIST),
        (None, Operation.UNSET, None, None),
        ({"set": 12345678, "data_type": "string"}, Operation.SET, "12345678", DataType.STRING),
        ({"set": "42", "data_type": "number"}, Operation.SET, 42, DataType.NUMBER),
        ({"set": "true", "data_type": "boolean"}, Operation.SET, True, DataType.BOOLEAN),
        (
            {"set": 1664454896, "data_type": "datetime"},
            Operation.SET,
            "2022-09-29T12:34:56.000+00:00",
            DataType.DATETIME,
        ),
        ({"set": "apple", "data_type": "list"}, Operation.SET, ["apple"], DataType.LIST),
        ({"set": None}, Operation.UNSET, None, None),
        ({"set_once": "xyz123"}, Operation.SET_ONCE, "xyz123", DataType.STRING),
        ({"add": 1}, Operation.ADD, 1, DataType.NUMBER),
        ({"add": 1234.56}, Operation.ADD, 1234.56, DataType.NUMBER),
        ({"subtract": 1}, Operation.ADD, -1, DataType.NUMBER),
        ({"append": "apple"}, Operation.APPEND, ["apple"], DataType.LIST),
        ({"append": ["apple", "banana"]}, Operation.APPEND, ["apple", "banana"], DataType.LIST),
        ({"prepend": ["apple"]}, Operation.PREPEND, ["apple"], DataType.LIST),
        ({"remove": ["apple", "banana"]}, Operation.REMOVE, ["apple", "banana"], DataType.LIST),
    ],
)
def test_values_and_operations_parse_to_changes(
    raw: object, operation: Operation, value: object, data_type: DataType | None
) -> None:
    assert change(raw) == AttributeChange("x", operation, value, data_type)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "exactly one of"),
        ({"set": 1, "add": 1}, "exactly one of"),
        ({"multiply": 2}, "unknown key 'multiply'"),
        ({"add": "1"}, "must be a number"),
        ({"add": True}, "must be a number"),
        ({"append": [1]}, "list of strings"),
        ({"set": "abc", "data_type": "number"}, "cannot be stored as number"),
        ({"set": "yes", "data_type": "boolean"}, "cannot be stored as boolean"),
        ({"set": "soon", "data_type": "datetime"}, "cannot be stored as datetime"),
        ({"set": 1, "data_type": "money"}, "data_type"),
        ({"add": 1, "data_type": "string"}, "only works on number"),
        ({"append": "a", "data_type": "string"}, "only works on list"),
        ({"nested": "object"}, "unknown key"),
        (float("inf"), "finite"),
    ],
)
def test_invalid_operations_are_rejected_naming_the_attribute(raw: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as error:
        change(raw)
    assert "attributes.x" in str(error.value)


@pytest.mark.parametrize("name", ["signed_up_at", "Plan", "last-seen", "first name", "a1"])
def test_valid_attribute_names(name: str) -> None:
    assert parse_changes({name: 1})[0].name == name


@pytest.mark.parametrize("name", ["", "a.b", "a/b", "émoji", "x" * 256, "$set"])
def test_invalid_attribute_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidInput, match="Invalid attribute name"):
        parse_changes({name: 1})


def test_attributes_must_be_an_object() -> None:
    with pytest.raises(InvalidInput, match="`attributes`: must be an object"):
        parse_changes(["a"])


@pytest.mark.parametrize(
    ("current", "raw", "expected"),
    [
        ({}, {"n": 5}, {"n": 5}),
        ({"n": 1}, {"n": None}, {}),
        ({}, {"n": None}, {}),
        ({"c": "old"}, {"c": {"set_once": "new"}}, {"c": "old"}),
        ({}, {"c": {"set_once": "new"}}, {"c": "new"}),
        ({}, {"n": {"add": 2}}, {"n": 2}),
        ({"n": 2}, {"n": {"subtract": 5}}, {"n": -3}),
        ({"n": 1.5}, {"n": {"add": 1}}, {"n": 2.5}),
        ({}, {"f": {"append": ["a", "b"]}}, {"f": ["a", "b"]}),
        ({"f": ["a"]}, {"f": {"append": ["a", "b"]}}, {"f": ["a", "b"]}),
        ({"f": ["c"]}, {"f": {"prepend": ["a", "b", "c"]}}, {"f": ["a", "b", "c"]}),
        ({"f": ["a", "b", "c"]}, {"f": {"remove": ["a", "c", "z"]}}, {"f": ["b"]}),
        ({}, {"f": {"remove": "a"}}, {"f": []}),
    ],
)
def test_apply_changes(
    current: dict[str, Any], raw: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert apply_changes(current, parse_changes(raw)) == expected


def test_apply_changes_leaves_input_untouched() -> None:
    current = {"f": ["a"]}
    apply_changes(current, parse_changes({"f": {"append": "b"}}))
    assert current == {"f": ["a"]}


@pytest.mark.parametrize(
    ("current", "raw"), [({"n": "text"}, {"add": 1}), ({"f": 3}, {"append": "a"})]
)
def test_operations_on_the_wrong_type_are_rejected(
    current: dict[str, Any], raw: dict[str, Any]
) -> None:
    name = next(iter(current))
    with pytest.raises(InvalidInput, match=f"attributes.{name}"):
        apply_changes(current, parse_changes({name: raw}))
