"""Condition filtering, as the reference's "Condition filtering" section describes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.attributes import parse_datetime
from shared.domain.conditions import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_TEXT_LENGTH,
    OPERATORS,
    AttributeCondition,
    Clause,
    Condition,
    evaluate,
    parse_condition,
    parse_condition_text,
    references_scope,
)
from shared.domain.errors import InvalidInput

MODEST = settings(max_examples=200, deadline=None)

SIGNED_UP = "2022-09-29T12:34:56.000+00:00"  # how a datetime attribute is stored
SAME_INSTANT_PLUS_2 = "2022-09-29T14:34:56+02:00"
SAME_INSTANT_MINUS_5 = "2022-09-29T07:34:56.000-05:00"
SAME_INSTANT_Z = "2022-09-29T12:34:56Z"
ONE_SECOND_LATER = "2022-09-29T12:34:57.000+00:00"
ONE_SECOND_EARLIER = "2022-09-29T12:34:55Z"


ALL_OPERATORS = frozenset(
    {
        "between", "contains", "empty", "ends_with", "eq", "excludes_all", "excludes_any",
        "false", "gt", "gte", "includes_all", "includes_any", "lt", "lte", "ne",
        "not_contains", "not_empty", "starts_with", "true",
    }
)  # fmt: skip


def attr(operator: str, name: str = "my_attribute", **operands: Any) -> dict[str, Any]:
    return {"type": "attribute", "attribute_name": name, "operator": operator, **operands}


def clause(operator: str, *conditions: Any) -> dict[str, Any]:
    return {"type": "clause", "operator": operator, "conditions": list(conditions)}


def record_lookup(record: dict[str, Any]) -> Any:
    """A lookup over one user record: unprefixed names only."""
    return lambda scope, name: record.get(name) if scope == "user" else None


def matches(raw: dict[str, Any], actual: Any) -> bool:
    """Whether `my_attribute` holding `actual` (None: not set) satisfies the condition."""
    return evaluate(parse_condition(raw), record_lookup({"my_attribute": actual}))


def case(operator: str, operands: dict[str, Any], actual: Any, expected: bool, id: str) -> Any:
    return pytest.param(operator, operands, actual, expected, id=f"{operator}-{id}")


# --- every attribute operator, every type ------------------------------------------------------

OPERATOR_CASES = [
    # eq
    case("eq", {"value": "Pro"}, "Pro", True, "string-equal"),
    case("eq", {"value": "Pro"}, "Basic", False, "string-different"),
    case("eq", {"value": "Pro"}, "pro", False, "string-case-sensitive"),
    case("eq", {"value": ""}, "", True, "empty-string-equal"),
    case("eq", {"value": 10}, 10, True, "int-equal"),
    case("eq", {"value": 10}, 11, False, "int-different"),
    case("eq", {"value": 10.0}, 10, True, "int-attribute-float-value"),
    case("eq", {"value": 1.5}, 1.5, True, "float-equal"),
    case("eq", {"value": 1.5}, 1.25, False, "float-different"),
    case("eq", {"value": -3}, -3.0, True, "negative-float-attribute"),
    case("eq", {"value": SIGNED_UP}, SIGNED_UP, True, "datetime-identical"),
    case("eq", {"value": SAME_INSTANT_PLUS_2}, SIGNED_UP, True, "datetime-other-offset"),
    case("eq", {"value": SAME_INSTANT_MINUS_5}, SIGNED_UP, True, "datetime-negative-offset"),
    case("eq", {"value": SAME_INSTANT_Z}, SIGNED_UP, True, "datetime-z-suffix"),
    case("eq", {"value": ONE_SECOND_LATER}, SIGNED_UP, False, "datetime-other-instant"),
    case("eq", {"value": "apple"}, ["apple", "banana"], True, "list-holds-value"),
    case("eq", {"value": "cherry"}, ["apple", "banana"], False, "list-lacks-value"),
    case("eq", {"value": "apple"}, [], False, "empty-list"),
    case("eq", {"value": True}, True, True, "bool-true"),
    case("eq", {"value": False}, False, True, "bool-false"),
    case("eq", {"value": True}, False, False, "bool-different"),
    case("eq", {"value": "Pro"}, None, False, "missing"),
    case("eq", {"value": True}, None, False, "missing-bool"),
    case("eq", {"value": True}, 1, False, "bool-value-number-attribute"),
    case("eq", {"value": 1}, True, False, "number-value-bool-attribute"),
    case("eq", {"value": "Pro"}, 10, False, "string-value-number-attribute"),
    case("eq", {"value": 10}, "Pro", False, "number-value-string-attribute"),
    case("eq", {"value": "Pro"}, ["Pro x"], False, "list-needs-whole-item"),
    # ne
    case("ne", {"value": "Pro"}, "Basic", True, "string-different"),
    case("ne", {"value": "Pro"}, "Pro", False, "string-equal"),
    case("ne", {"value": 10}, 10.0, False, "int-float-equal"),
    case("ne", {"value": 10}, 11, True, "number-different"),
    case("ne", {"value": SAME_INSTANT_PLUS_2}, SIGNED_UP, False, "datetime-same-instant"),
    case("ne", {"value": ONE_SECOND_LATER}, SIGNED_UP, True, "datetime-other-instant"),
    case("ne", {"value": "apple"}, ["apple", "banana"], False, "list-holds-value"),
    case("ne", {"value": "cherry"}, ["apple", "banana"], True, "list-lacks-value"),
    case("ne", {"value": True}, True, False, "bool-equal"),
    case("ne", {"value": True}, False, True, "bool-different"),
    case("ne", {"value": "Pro"}, None, True, "missing"),
    case("ne", {"value": 10}, "Pro", True, "mismatched-type"),
    # contains
    case("contains", {"value": "terp"}, "Enterprise", True, "substring"),
    case("contains", {"value": "Enterprise"}, "Enterprise", True, "whole-string"),
    case("contains", {"value": ""}, "Enterprise", True, "empty-value"),
    case("contains", {"value": "TERP"}, "Enterprise", False, "case-sensitive"),
    case("contains", {"value": "x"}, "Enterprise", False, "absent"),
    case("contains", {"value": "x"}, "", False, "empty-attribute"),
    case("contains", {"value": "x"}, None, False, "missing"),
    case("contains", {"value": "2"}, 123, False, "number-attribute"),
    case("contains", {"value": "apple"}, ["apple"], False, "list-attribute"),
    case("contains", {"value": "ru"}, True, False, "bool-attribute"),
    # not_contains
    case("not_contains", {"value": "x"}, "Enterprise", True, "absent"),
    case("not_contains", {"value": "terp"}, "Enterprise", False, "substring"),
    case("not_contains", {"value": ""}, "Enterprise", False, "empty-value"),
    case("not_contains", {"value": "TERP"}, "Enterprise", True, "case-sensitive"),
    case("not_contains", {"value": "x"}, None, True, "missing"),
    case("not_contains", {"value": "2"}, 123, True, "number-attribute"),
    case("not_contains", {"value": "apple"}, ["apple"], True, "list-attribute"),
    # starts_with
    case("starts_with", {"value": "Ent"}, "Enterprise", True, "prefix"),
    case("starts_with", {"value": "Enterprise"}, "Enterprise", True, "whole-string"),
    case("starts_with", {"value": ""}, "Enterprise", True, "empty-value"),
    case("starts_with", {"value": "ent"}, "Enterprise", False, "case-sensitive"),
    case("starts_with", {"value": "prise"}, "Enterprise", False, "suffix-only"),
    case("starts_with", {"value": "Ent"}, None, False, "missing"),
    case("starts_with", {"value": "1"}, 123, False, "number-attribute"),
    case("starts_with", {"value": "a"}, ["apple"], False, "list-attribute"),
    case("starts_with", {"value": "2022"}, SIGNED_UP, True, "datetime-is-a-string"),
    # ends_with
    case("ends_with", {"value": "prise"}, "Enterprise", True, "suffix"),
    case("ends_with", {"value": "Enterprise"}, "Enterprise", True, "whole-string"),
    case("ends_with", {"value": "PRISE"}, "Enterprise", False, "case-sensitive"),
    case("ends_with", {"value": "Ent"}, "Enterprise", False, "prefix-only"),
    case("ends_with", {"value": "x"}, None, False, "missing"),
    case("ends_with", {"value": "3"}, 123, False, "number-attribute"),
    case("ends_with", {"value": "e"}, ["apple"], False, "list-attribute"),
    # empty / not_empty
    case("empty", {}, None, True, "missing"),
    case("empty", {}, "", True, "empty-string"),
    case("empty", {}, [], True, "empty-list"),
    case("empty", {}, " ", False, "blank-string"),
    case("empty", {}, "x", False, "string"),
    case("empty", {}, 0, False, "zero"),
    case("empty", {}, 0.0, False, "zero-float"),
    case("empty", {}, False, False, "false"),
    case("empty", {}, [""], False, "list-of-empty-string"),
    case("empty", {}, SIGNED_UP, False, "datetime"),
    case("not_empty", {}, None, False, "missing"),
    case("not_empty", {}, "", False, "empty-string"),
    case("not_empty", {}, [], False, "empty-list"),
    case("not_empty", {}, "x", True, "string"),
    case("not_empty", {}, 0, True, "zero"),
    case("not_empty", {}, False, True, "false"),
    case("not_empty", {}, ["a"], True, "list"),
    case("not_empty", {}, SIGNED_UP, True, "datetime"),
    # true / false
    case("true", {}, True, True, "true"),
    case("true", {}, False, False, "false"),
    case("true", {}, None, False, "missing"),
    case("true", {}, "true", False, "string-true"),
    case("true", {}, 1, False, "one"),
    case("true", {}, [True], False, "list"),
    case("false", {}, False, True, "false"),
    case("false", {}, True, False, "true"),
    case("false", {}, None, False, "missing-is-not-false"),
    case("false", {}, "false", False, "string-false"),
    case("false", {}, 0, False, "zero"),
    case("false", {}, "", False, "empty-string"),
    # gt
    case("gt", {"value": 10}, 11, True, "int-above"),
    case("gt", {"value": 10}, 10, False, "int-equal"),
    case("gt", {"value": 10}, 9, False, "int-below"),
    case("gt", {"value": 10}, 10.5, True, "float-attribute"),
    case("gt", {"value": 10.5}, 10, False, "float-value"),
    case("gt", {"value": -1}, 0, True, "negative-value"),
    case("gt", {"value": SIGNED_UP}, ONE_SECOND_LATER, True, "datetime-later"),
    case("gt", {"value": SIGNED_UP}, SAME_INSTANT_PLUS_2, False, "datetime-same-instant"),
    case("gt", {"value": SAME_INSTANT_MINUS_5}, ONE_SECOND_LATER, True, "datetime-offsets"),
    case("gt", {"value": "2022-09-29T12:34:55Z"}, SIGNED_UP, True, "datetime-z-value"),
    case("gt", {"value": 10}, "Pro", False, "string-attribute"),
    case("gt", {"value": 10}, "15", False, "numeric-string-attribute"),
    case("gt", {"value": 0}, True, False, "bool-attribute"),
    case("gt", {"value": 10}, None, False, "missing"),
    case("gt", {"value": 10}, [11], False, "list-attribute"),
    case("gt", {"value": 10}, SIGNED_UP, False, "datetime-attribute-number-value"),
    case("gt", {"value": SIGNED_UP}, 10**12, False, "number-attribute-datetime-value"),
    case("gt", {"value": SIGNED_UP}, "Pro", False, "string-attribute-datetime-value"),
    # gte
    case("gte", {"value": 10}, 10, True, "int-equal"),
    case("gte", {"value": 10}, 10.0, True, "float-equal"),
    case("gte", {"value": 10}, 11, True, "int-above"),
    case("gte", {"value": 10}, 9.99, False, "float-below"),
    case("gte", {"value": SAME_INSTANT_PLUS_2}, SIGNED_UP, True, "datetime-same-instant"),
    case("gte", {"value": ONE_SECOND_LATER}, SIGNED_UP, False, "datetime-earlier"),
    case("gte", {"value": 10}, "10", False, "numeric-string-attribute"),
    case("gte", {"value": 10}, None, False, "missing"),
    # lt
    case("lt", {"value": 10}, 9, True, "int-below"),
    case("lt", {"value": 10}, 10, False, "int-equal"),
    case("lt", {"value": 10}, 11, False, "int-above"),
    case("lt", {"value": 0.5}, 0.25, True, "float-below"),
    case("lt", {"value": SIGNED_UP}, ONE_SECOND_EARLIER, True, "datetime-earlier"),
    case("lt", {"value": SAME_INSTANT_Z}, SIGNED_UP, False, "datetime-same-instant"),
    case("lt", {"value": 10}, "5", False, "numeric-string-attribute"),
    case("lt", {"value": 1}, False, False, "bool-attribute"),
    case("lt", {"value": 10}, None, False, "missing"),
    # lte
    case("lte", {"value": 10}, 10, True, "int-equal"),
    case("lte", {"value": 10.0}, 10, True, "float-value-equal"),
    case("lte", {"value": 10}, 9, True, "int-below"),
    case("lte", {"value": 10}, 10.01, False, "float-above"),
    case("lte", {"value": SAME_INSTANT_MINUS_5}, SIGNED_UP, True, "datetime-same-instant"),
    case("lte", {"value": SIGNED_UP}, ONE_SECOND_LATER, False, "datetime-later"),
    case("lte", {"value": 10}, "Pro", False, "string-attribute"),
    case("lte", {"value": 10}, None, False, "missing"),
    # between (both ends inclusive)
    case("between", {"value": 10, "value2": 20}, 15, True, "inside"),
    case("between", {"value": 10, "value2": 20}, 10, True, "low-end-inclusive"),
    case("between", {"value": 10, "value2": 20}, 20, True, "high-end-inclusive"),
    case("between", {"value": 10, "value2": 20}, 9, False, "below"),
    case("between", {"value": 10, "value2": 20}, 21, False, "above"),
    case("between", {"value": 10, "value2": 20}, 20.000001, False, "just-above"),
    case("between", {"value": 0.5, "value2": 1.5}, 1, True, "float-bounds"),
    case("between", {"value": 7, "value2": 7}, 7, True, "single-point"),
    case("between", {"value": 20, "value2": 10}, 15, False, "reversed-bounds"),
    case(
        "between",
        {"value": SAME_INSTANT_PLUS_2, "value2": ONE_SECOND_LATER},
        SIGNED_UP,
        True,
        "datetime-low-end-other-offset",
    ),
    case(
        "between",
        {"value": ONE_SECOND_EARLIER, "value2": SAME_INSTANT_Z},
        SIGNED_UP,
        True,
        "datetime-high-end-z",
    ),
    case(
        "between",
        {"value": ONE_SECOND_LATER, "value2": "2022-09-30T00:00:00Z"},
        SIGNED_UP,
        False,
        "datetime-before",
    ),
    case("between", {"value": 10, "value2": 20}, "15", False, "numeric-string-attribute"),
    case("between", {"value": 10, "value2": 20}, None, False, "missing"),
    case("between", {"value": 0, "value2": 2}, True, False, "bool-attribute"),
    case("between", {"value": 10, "value2": 20}, [15], False, "list-attribute"),
    # includes_all
    case("includes_all", {"values": ["apple", "banana"]}, ["banana", "apple", "x"], True, "all"),
    case("includes_all", {"values": ["apple", "banana"]}, ["apple"], False, "some"),
    case("includes_all", {"values": ["apple", "banana"]}, ["cherry"], False, "none"),
    case("includes_all", {"values": ["apple"]}, [], False, "empty-list"),
    case("includes_all", {"values": ["apple"]}, None, False, "missing"),
    case("includes_all", {"values": ["Apple"]}, ["apple"], False, "case-sensitive"),
    case("includes_all", {"values": ["apple", "apple"]}, ["apple"], True, "repeated-values"),
    case("includes_all", {"value": "apple"}, ["apple"], True, "single-value-key"),
    # includes_any
    case("includes_any", {"values": ["apple", "banana"]}, ["banana", "x"], True, "one"),
    case("includes_any", {"values": ["apple", "banana"]}, ["apple", "banana"], True, "all"),
    case("includes_any", {"values": ["apple", "banana"]}, ["cherry"], False, "none"),
    case("includes_any", {"values": ["apple"]}, [], False, "empty-list"),
    case("includes_any", {"values": ["apple"]}, None, False, "missing"),
    case("includes_any", {"value": "apple"}, ["apple"], True, "single-value-key"),
    # excludes_all ("does not include all of")
    case("excludes_all", {"values": ["apple", "banana"]}, ["apple"], True, "some"),
    case("excludes_all", {"values": ["apple", "banana"]}, ["cherry"], True, "none"),
    case("excludes_all", {"values": ["apple", "banana"]}, ["banana", "apple"], False, "all"),
    case("excludes_all", {"values": ["apple"]}, [], True, "empty-list"),
    case("excludes_all", {"values": ["apple"]}, None, True, "missing"),
    # excludes_any ("does not include at least one of")
    case("excludes_any", {"values": ["apple", "banana"]}, ["cherry"], True, "none"),
    case("excludes_any", {"values": ["apple", "banana"]}, ["apple"], False, "one"),
    case("excludes_any", {"values": ["apple", "banana"]}, ["apple", "banana"], False, "all"),
    case("excludes_any", {"values": ["apple"]}, [], True, "empty-list"),
    case("excludes_any", {"values": ["apple"]}, None, True, "missing"),
    case("excludes_any", {"value": "apple"}, ["x"], True, "single-value-key"),
]


@pytest.mark.parametrize(("operator", "operands", "actual", "expected"), OPERATOR_CASES)
def test_attribute_operators(
    operator: str, operands: dict[str, Any], actual: Any, expected: bool
) -> None:
    assert matches(attr(operator, **operands), actual) is expected


def test_every_operator_of_the_reference_has_cases() -> None:
    assert OPERATORS == ALL_OPERATORS
    assert {p.values[0] for p in OPERATOR_CASES} == ALL_OPERATORS


# --- and / or clauses -------------------------------------------------------------------------

PRO = attr("eq", "plan", value="Pro")
MANY_WIDGETS = attr("gte", "widget_count", value=10)
EXPERT = attr("eq", "experience_level", value="Expert")


@pytest.mark.parametrize(
    ("condition", "record", "expected"),
    [
        pytest.param(clause("and", PRO, MANY_WIDGETS), {"plan": "Pro", "widget_count": 10}, True,
                     id="and-all-true"),
        pytest.param(clause("and", PRO, MANY_WIDGETS), {"plan": "Pro", "widget_count": 9}, False,
                     id="and-one-false"),
        pytest.param(clause("and", PRO, MANY_WIDGETS), {}, False, id="and-all-missing"),
        pytest.param(clause("and", PRO), {"plan": "Pro"}, True, id="and-single-child"),
        pytest.param(clause("and"), {}, True, id="and-empty-is-true"),
        pytest.param(clause("or", PRO, MANY_WIDGETS), {"plan": "Basic", "widget_count": 12}, True,
                     id="or-one-true"),
        pytest.param(clause("or", PRO, MANY_WIDGETS), {"plan": "Basic", "widget_count": 2}, False,
                     id="or-none-true"),
        pytest.param(clause("or", PRO, MANY_WIDGETS), {"plan": "Pro", "widget_count": 12}, True,
                     id="or-all-true"),
        pytest.param(clause("or", PRO), {"plan": "Basic"}, False, id="or-single-child"),
        pytest.param(clause("or"), {"plan": "Pro"}, False, id="or-empty-is-false"),
        pytest.param(clause("and", PRO, clause("or", MANY_WIDGETS, EXPERT)),
                     {"plan": "Pro", "experience_level": "Expert"}, True, id="nested-and-or"),
        pytest.param(clause("and", PRO, clause("or", MANY_WIDGETS, EXPERT)),
                     {"plan": "Pro", "experience_level": "Novice", "widget_count": 1}, False,
                     id="nested-and-or-false"),
        pytest.param(clause("or", clause("and", PRO, MANY_WIDGETS), EXPERT),
                     {"experience_level": "Expert"}, True, id="nested-or-and"),
    ],
)  # fmt: skip
def test_clauses(condition: dict[str, Any], record: dict[str, Any], expected: bool) -> None:
    assert evaluate(parse_condition(condition), record_lookup(record)) is expected


def test_reference_example_parses_to_the_expected_tree() -> None:
    text = (
        '{ "type": "clause", "operator": "and", "conditions": [ { "type": "attribute", '
        '"attribute_name": "plan", "operator": "eq", "value": "Pro" }, { "type": "attribute", '
        '"attribute_name": "widget_count", "operator": "gte", "value": 10 } ] }'
    )
    assert parse_condition_text(text) == Clause(
        "and",
        (
            AttributeCondition("user", "plan", "eq", value="Pro"),
            AttributeCondition("user", "widget_count", "gte", value=10),
        ),
    )


# --- scopes: `group/` and `group_membership/` ---------------------------------------------------


@pytest.mark.parametrize(
    ("attribute_name", "scope", "name"),
    [
        pytest.param("experience_level", "user", "experience_level", id="user-default"),
        pytest.param("group/plan", "group", "plan", id="group-prefix"),
        pytest.param("group_membership/role", "group_membership", "role", id="membership-prefix"),
        pytest.param("group/my attr-1", "group", "my attr-1", id="group-name-with-space-dash"),
    ],
)
def test_prefix_selects_the_lookup_scope(attribute_name: str, scope: str, name: str) -> None:
    calls: list[tuple[str, str]] = []

    def lookup(s: str, n: str) -> Any:
        calls.append((s, n))
        return "Pro" if (s, n) == (scope, name) else None

    condition = parse_condition(attr("eq", attribute_name, value="Pro"))
    assert condition == AttributeCondition(scope, name, "eq", value="Pro")
    assert evaluate(condition, lookup) is True
    assert calls == [(scope, name)]


def test_scopes_are_looked_up_independently() -> None:
    values = {("user", "plan"): "Basic", ("group", "plan"): "Pro", ("group_membership", "role"): 1}
    condition = parse_condition(
        clause(
            "and",
            attr("eq", "plan", value="Basic"),
            attr("eq", "group/plan", value="Pro"),
            attr("eq", "group_membership/role", value=1),
        )
    )
    assert evaluate(condition, lambda s, n: values.get((s, n))) is True
    values[("group", "plan")] = "Basic"
    assert evaluate(condition, lambda s, n: values.get((s, n))) is False


@pytest.mark.parametrize(
    ("raw", "user", "group", "membership"),
    [
        pytest.param(attr("empty", "plan"), True, False, False, id="user-leaf"),
        pytest.param(attr("empty", "group/plan"), False, True, False, id="group-leaf"),
        pytest.param(
            attr("empty", "group_membership/role"), False, False, True, id="membership-leaf"
        ),
        pytest.param(clause("and"), False, False, False, id="empty-clause"),
        pytest.param(
            clause("or", attr("empty", "plan"),
                   clause("and", clause("or", attr("true", "group/x")))),
            True, True, False, id="group-deeply-nested",
        ),
        pytest.param(
            clause("and", clause("or"), clause("or", attr("empty", "group_membership/role"))),
            False, False, True, id="membership-nested-only",
        ),
    ],
)  # fmt: skip
def test_references_scope(raw: dict[str, Any], user: bool, group: bool, membership: bool) -> None:
    condition = parse_condition(raw)
    assert references_scope(condition, "user") is user
    assert references_scope(condition, "group") is group
    assert references_scope(condition, "group_membership") is membership


# --- validation ---------------------------------------------------------------------------------

NAME_PATH = "condition.conditions[1].attribute_name"
GOOD = attr("eq", "plan", value="Pro")


def invalid(bad_leaf: Any) -> dict[str, Any]:
    """Put a malformed condition at `condition.conditions[1]`, after a valid one."""
    return clause("and", GOOD, bad_leaf)


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        pytest.param("plan", "condition", id="not-an-object"),
        pytest.param(None, "condition", id="null"),
        pytest.param([GOOD], "condition", id="list-instead-of-object"),
        pytest.param({"attribute_name": "plan", "operator": "empty"}, "condition.type",
                     id="missing-type"),
        pytest.param({**GOOD, "type": "segment"}, "condition.type", id="unknown-type"),
        pytest.param({**GOOD, "type": ["attribute"]}, "condition.type", id="type-not-a-string"),
        pytest.param(invalid("x"), "condition.conditions[1]", id="child-not-an-object"),
        pytest.param(invalid({**GOOD, "type": "Attribute"}), "condition.conditions[1].type",
                     id="child-type-case"),
        # clauses
        pytest.param({**clause("and"), "operator": "xor"}, "condition.operator",
                     id="clause-unknown-operator"),
        pytest.param({**clause("and"), "operator": "eq"}, "condition.operator",
                     id="clause-attribute-operator"),
        pytest.param({"type": "clause", "conditions": []}, "condition.operator",
                     id="clause-missing-operator"),
        pytest.param({"type": "clause", "operator": "and"}, "condition.conditions",
                     id="clause-missing-conditions"),
        pytest.param({**clause("and"), "conditions": GOOD}, "condition.conditions",
                     id="conditions-an-object"),
        pytest.param({**clause("or"), "conditions": "plan"}, "condition.conditions",
                     id="conditions-a-string"),
        pytest.param({**clause("or"), "conditions": None}, "condition.conditions",
                     id="conditions-null"),
        pytest.param({**clause("and", GOOD), "attribute_name": "x"}, "condition",
                     id="clause-unknown-key"),
        # attribute names
        pytest.param(invalid({**GOOD, "attribute_name": None}), NAME_PATH, id="name-missing"),
        pytest.param(invalid({**GOOD, "attribute_name": 5}), NAME_PATH, id="name-not-a-string"),
        pytest.param(invalid({**GOOD, "attribute_name": ""}), NAME_PATH, id="name-empty"),
        pytest.param(invalid({**GOOD, "attribute_name": "plan!"}),
                     NAME_PATH, id="name-bad-character"),
        pytest.param(invalid({**GOOD, "attribute_name": "x" * 256}),
                     NAME_PATH, id="name-too-long"),
        pytest.param(invalid({**GOOD, "attribute_name": "group/"}),
                     NAME_PATH, id="prefix-without-name"),
        pytest.param(invalid({**GOOD, "attribute_name": "account/plan"}),
                     NAME_PATH, id="unknown-prefix"),
        pytest.param(invalid({**GOOD, "attribute_name": "group/group/plan"}),
                     NAME_PATH, id="double-prefix"),
        # operators
        pytest.param(invalid({**GOOD, "operator": "equals"}), "condition.conditions[1].operator",
                     id="unknown-operator"),
        pytest.param(invalid({**GOOD, "operator": "and"}), "condition.conditions[1].operator",
                     id="clause-operator-on-attribute"),
        pytest.param(invalid({**GOOD, "operator": "EQ"}), "condition.conditions[1].operator",
                     id="operator-case"),
        pytest.param(invalid({**GOOD, "operator": None}), "condition.conditions[1].operator",
                     id="operator-missing"),
        pytest.param(invalid({**GOOD, "operator": ["eq"]}), "condition.conditions[1].operator",
                     id="operator-a-list"),
        pytest.param(invalid({**GOOD, "nope": 1}), "condition.conditions[1]",
                     id="attribute-unknown-key"),
        # values
        pytest.param(invalid(attr("eq")), "condition.conditions[1].value", id="eq-missing-value"),
        pytest.param(invalid(attr("ne", value=None)), "condition.conditions[1].value",
                     id="ne-null-value"),
        pytest.param(invalid(attr("eq", value=["Pro"])), "condition.conditions[1].value",
                     id="eq-list-value"),
        pytest.param(invalid(attr("eq", value={"a": 1})), "condition.conditions[1].value",
                     id="eq-object-value"),
        pytest.param(invalid(attr("eq", value=float("nan"))), "condition.conditions[1].value",
                     id="eq-nan-value"),
        pytest.param(invalid(attr("contains")), "condition.conditions[1].value",
                     id="contains-missing-value"),
        pytest.param(invalid(attr("contains", value=5)), "condition.conditions[1].value",
                     id="contains-number-value"),
        pytest.param(invalid(attr("starts_with", value=True)), "condition.conditions[1].value",
                     id="starts-with-bool-value"),
        pytest.param(invalid(attr("ends_with", value=["a"])), "condition.conditions[1].value",
                     id="ends-with-list-value"),
        pytest.param(invalid(attr("not_contains", value=None)), "condition.conditions[1].value",
                     id="not-contains-null-value"),
        pytest.param(invalid(attr("gt")), "condition.conditions[1].value", id="gt-missing-value"),
        pytest.param(invalid(attr("gt", value="Pro")), "condition.conditions[1].value",
                     id="gt-string-value"),
        pytest.param(invalid(attr("gte", value="10")), "condition.conditions[1].value",
                     id="gte-numeric-string-value"),
        pytest.param(invalid(attr("lt", value=True)), "condition.conditions[1].value",
                     id="lt-bool-value"),
        pytest.param(invalid(attr("lte", value=[1])), "condition.conditions[1].value",
                     id="lte-list-value"),
        pytest.param(invalid(attr("gt", value=float("inf"))), "condition.conditions[1].value",
                     id="gt-infinite-value"),
        pytest.param(invalid(attr("between", value2=20)), "condition.conditions[1].value",
                     id="between-missing-value"),
        pytest.param(invalid(attr("between", value=10)), "condition.conditions[1].value2",
                     id="between-missing-value2"),
        pytest.param(invalid(attr("between", value=10, value2="x")),
                     "condition.conditions[1].value2", id="between-string-value2"),
        pytest.param(invalid(attr("between", value=False, value2=1)),
                     "condition.conditions[1].value", id="between-bool-value"),
        pytest.param(invalid(attr("includes_all")), "condition.conditions[1].values",
                     id="includes-all-missing-values"),
        pytest.param(invalid(attr("includes_any", values=[])), "condition.conditions[1].values",
                     id="includes-any-empty-values"),
        pytest.param(invalid(attr("excludes_all", values=["a", 1])),
                     "condition.conditions[1].values", id="excludes-all-non-string-value"),
        pytest.param(invalid(attr("excludes_any", values={"a": 1})),
                     "condition.conditions[1].values", id="excludes-any-object-values"),
        pytest.param(invalid(attr("includes_any", values=None)), "condition.conditions[1].values",
                     id="includes-any-null-values"),
        pytest.param(invalid(attr("includes_any", value=5)), "condition.conditions[1].values",
                     id="includes-any-number-value"),
        # deeper paths
        pytest.param(clause("or", GOOD, GOOD, clause("and", GOOD, attr("gt", value="x"))),
                     "condition.conditions[2].conditions[1].value", id="nested-path"),
        pytest.param(clause("and", clause("or", {"type": "clause", "operator": "or"})),
                     "condition.conditions[0].conditions[0].conditions", id="nested-clause-path"),
    ],
)  # fmt: skip
def test_malformed_conditions_name_the_clause(raw: Any, path: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_condition(raw)
    assert f"Invalid `{path}`:" in str(error.value)


def test_the_path_prefix_is_the_callers() -> None:
    with pytest.raises(InvalidInput, match=r"`segment\.condition\.conditions\[0\]\.value`"):
        parse_condition(clause("and", attr("gt")), path="segment.condition")


def nested(levels: int) -> dict[str, Any]:
    """A condition `levels` deep: `levels - 1` clauses around one attribute condition."""
    raw: dict[str, Any] = attr("empty")
    for _ in range(levels - 1):
        raw = clause("and", raw)
    return raw


def test_nesting_up_to_the_limit_is_accepted() -> None:
    assert evaluate(parse_condition(nested(MAX_DEPTH)), lambda s, n: None) is True


def test_too_deep_nesting_names_the_clause() -> None:
    path = "condition" + ".conditions[0]" * MAX_DEPTH
    with pytest.raises(InvalidInput, match="nest") as error:
        parse_condition(nested(MAX_DEPTH + 1))
    assert f"Invalid `{path}`:" in str(error.value)


def test_too_deep_nesting_in_text_is_invalid_input() -> None:
    text = json.dumps(nested(MAX_DEPTH + 1))
    with pytest.raises(InvalidInput, match="nest"):
        parse_condition_text(text)


def test_clauses_up_to_the_limit_are_accepted() -> None:
    # The root clause counts too.
    condition = parse_condition(clause("or", *[GOOD] * (MAX_NODES - 1)))
    assert isinstance(condition, Clause)
    assert len(condition.conditions) == MAX_NODES - 1


def test_too_many_clauses_names_the_first_one_over() -> None:
    with pytest.raises(InvalidInput, match=f"at most {MAX_NODES}") as error:
        parse_condition(clause("or", *[GOOD] * MAX_NODES))
    assert f"Invalid `condition.conditions[{MAX_NODES - 1}]`:" in str(error.value)


def test_nested_clauses_count_towards_the_limit() -> None:
    half = clause("and", *[GOOD] * (MAX_NODES // 2))
    with pytest.raises(InvalidInput, match=f"at most {MAX_NODES}"):
        parse_condition(clause("or", half, half))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("plan=Pro", id="not-json"),
        pytest.param('{"type": "attribute"', id="truncated"),
        pytest.param("{'type': 'attribute'}", id="single-quotes"),
        pytest.param("[" * 5_000 + "]" * 5_000, id="json-nested-too-deep-for-the-parser"),
    ],
)
def test_non_json_text(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"Invalid `condition`: must be a JSON"):
        parse_condition_text(text)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        pytest.param('"plan"', "condition", id="json-string"),
        pytest.param("[]", "condition", id="json-list"),
        pytest.param("null", "condition", id="json-null"),
        pytest.param('{"type": "attribute", "attribute_name": "plan", "operator": "eq"}',
                     "condition.value", id="json-missing-value"),
        pytest.param('{"type": "attribute", "attribute_name": "n", "operator": "gt", "value": NaN}',
                     "condition.value", id="json-nan"),
        pytest.param('{"type": "attribute", "attribute_name": "n", "operator": "gt", '
                     '"value": Infinity}', "condition.value", id="json-infinity"),
    ],
)  # fmt: skip
def test_json_text_that_is_not_a_condition(text: str, path: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_condition_text(text)
    assert f"Invalid `{path}`:" in str(error.value)


def test_over_long_text_is_rejected_before_parsing() -> None:
    text = json.dumps(GOOD)
    text += " " * (MAX_TEXT_LENGTH + 1 - len(text))
    with pytest.raises(InvalidInput, match=r"Invalid `condition`: at most"):
        parse_condition_text(text)


def test_text_at_the_length_limit_is_accepted() -> None:
    text = json.dumps(GOOD)
    text += " " * (MAX_TEXT_LENGTH - len(text))
    assert parse_condition_text(text) == AttributeCondition("user", "plan", "eq", value="Pro")


def test_huge_integer_values_compare_exactly_instead_of_overflowing() -> None:
    # JSON integers are unbounded; `math.isfinite` overflows on ones beyond a float's range.
    huge = "1" + "0" * 400
    above = parse_condition_text(f'{{"type": "attribute", "attribute_name": "n", '
                                 f'"operator": "gt", "value": {huge}}}')  # fmt: skip
    assert evaluate(above, lambda s, n: 10**401) is True
    assert evaluate(above, lambda s, n: 1e308) is False
    assert matches(attr("eq", value=10**400), 10**400) is True


def test_no_operand_operators_ignore_stray_values() -> None:
    assert parse_condition(attr("empty", value="x")) == AttributeCondition("user", "my_attribute",
                                                                           "empty")  # fmt: skip


# --- properties ---------------------------------------------------------------------------------

NAMES = ("plan", "count", "tags", "seen_at", "flag")
WORDS = st.sampled_from(["", "a", "ab", "b", "Pro", "pro", "10", "true", "apple", SIGNED_UP])
OFFSETS = st.sampled_from(["Z", "+00:00", "+02:00", "-05:00", "+05:30", ".000+00:00"])


@st.composite
def datetime_texts(draw: st.DrawFn) -> str:
    """A datetime near SIGNED_UP, with a random offset (so equal instants are common)."""
    seconds = draw(st.integers(-3, 3))
    moment = datetime(2022, 9, 29, 12, 34, 56, tzinfo=UTC) + timedelta(seconds=seconds)
    offset = draw(OFFSETS)
    if offset in ("Z", ".000+00:00"):
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + offset
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return moment.astimezone(zone).isoformat()


NUMBERS = st.one_of(
    st.integers(-3, 3), st.sampled_from([0.0, 0.5, -1.5, 2.0, 10**20, 1e-9, 2.5e30])
)
STORED_VALUES = st.one_of(
    st.none(),
    WORDS,
    NUMBERS,
    st.booleans(),
    st.lists(WORDS, max_size=3),
    datetime_texts(),
)
RECORDS = st.dictionaries(st.sampled_from(NAMES), STORED_VALUES, max_size=len(NAMES))
STRING_LISTS = st.lists(WORDS, min_size=1, max_size=3)
SCALARS = st.one_of(WORDS, NUMBERS, st.booleans(), datetime_texts())
ORDERED = st.one_of(NUMBERS, datetime_texts())


@st.composite
def raw_leaves(draw: st.DrawFn, operators: tuple[str, ...] | None = None) -> dict[str, Any]:
    operator = draw(st.sampled_from(operators or tuple(sorted(ALL_OPERATORS))))
    name = draw(st.sampled_from(NAMES))
    operands: dict[str, Any] = {}
    if operator in ("eq", "ne"):
        operands["value"] = draw(SCALARS)
    elif operator in ("contains", "not_contains", "starts_with", "ends_with"):
        operands["value"] = draw(WORDS)
    elif operator in ("gt", "gte", "lt", "lte"):
        operands["value"] = draw(ORDERED)
    elif operator == "between":
        operands["value"], operands["value2"] = draw(ORDERED), draw(ORDERED)
    elif operator in ("includes_all", "includes_any", "excludes_all", "excludes_any"):
        operands["values"] = draw(STRING_LISTS)
    return attr(operator, name, **operands)


COMPLEMENTS = {
    "eq": "ne",
    "contains": "not_contains",
    "empty": "not_empty",
    "includes_any": "excludes_any",
    "includes_all": "excludes_all",
}
COMPLEMENTS.update({b: a for a, b in list(COMPLEMENTS.items())})


def leaves(operators: tuple[str, ...] | None = None) -> st.SearchStrategy[Condition]:
    return raw_leaves(operators).map(parse_condition)


def trees(leaf: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
    return st.recursive(
        leaf,
        lambda children: st.builds(
            Clause,
            st.sampled_from(["and", "or"]),
            st.lists(children, max_size=3).map(tuple),
        ),
        max_leaves=8,
    )


CONDITIONS = trees(leaves())


def holds(condition: Condition, record: dict[str, Any]) -> bool:
    return evaluate(condition, record_lookup(record))


def AND(*conditions: Condition) -> Clause:
    return Clause("and", conditions)


def OR(*conditions: Condition) -> Clause:
    return Clause("or", conditions)


@MODEST
@given(CONDITIONS, CONDITIONS, RECORDS)
def test_commutativity(a: Condition, b: Condition, record: dict[str, Any]) -> None:
    assert holds(AND(a, b), record) == holds(AND(b, a), record)
    assert holds(OR(a, b), record) == holds(OR(b, a), record)


@MODEST
@given(CONDITIONS, CONDITIONS, CONDITIONS, RECORDS)
def test_associativity(a: Condition, b: Condition, c: Condition, record: dict[str, Any]) -> None:
    for op in (AND, OR):
        flat = holds(op(a, b, c), record)
        assert holds(op(a, op(b, c)), record) == flat
        assert holds(op(op(a, b), c), record) == flat


@MODEST
@given(CONDITIONS, RECORDS)
def test_identity_and_idempotence(a: Condition, record: dict[str, Any]) -> None:
    assert holds(AND(), record) is True
    assert holds(OR(), record) is False
    value = holds(a, record)
    assert holds(AND(a), record) == value
    assert holds(OR(a), record) == value
    assert holds(AND(a, AND()), record) == value
    assert holds(OR(a, OR()), record) == value
    assert holds(AND(a, a), record) == value
    assert holds(OR(a, a), record) == value
    # The annihilators: an empty `or` is false, an empty `and` is true.
    assert holds(AND(a, OR()), record) is False
    assert holds(OR(a, AND()), record) is True


@MODEST
@given(CONDITIONS, CONDITIONS, CONDITIONS, RECORDS)
def test_absorption_and_distributivity(
    a: Condition, b: Condition, c: Condition, record: dict[str, Any]
) -> None:
    value = holds(a, record)
    assert holds(AND(a, OR(a, b)), record) == value
    assert holds(OR(a, AND(a, b)), record) == value
    assert holds(AND(a, OR(b, c)), record) == holds(OR(AND(a, b), AND(a, c)), record)
    assert holds(OR(a, AND(b, c)), record) == holds(AND(OR(a, b), OR(a, c)), record)


def complement(condition: Condition) -> Condition:
    """The negation, by De Morgan: swap and/or and each operator for its complement."""
    if isinstance(condition, Clause):
        return Clause(
            "or" if condition.operator == "and" else "and",
            tuple(complement(child) for child in condition.conditions),
        )
    return AttributeCondition(
        condition.scope,
        condition.name,
        COMPLEMENTS[condition.operator],
        condition.value,
        condition.value2,
        condition.values,
    )


@MODEST
@given(raw_leaves(tuple(sorted(COMPLEMENTS))), STORED_VALUES)
def test_complement_pairs_exactly_one_holds(raw: dict[str, Any], actual: Any) -> None:
    raw = {**raw, "attribute_name": "my_attribute"}
    other = {**raw, "operator": COMPLEMENTS[raw["operator"]]}
    assert matches(raw, actual) != matches(other, actual)


@MODEST
@given(trees(leaves(tuple(sorted(COMPLEMENTS)))), RECORDS)
def test_de_morgan(condition: Condition, record: dict[str, Any]) -> None:
    assert holds(complement(condition), record) is not holds(condition, record)


@MODEST
@given(st.sampled_from(["gt", "gte", "lt", "lte"]), ORDERED, STORED_VALUES)
def test_ordered_operators_on_comparable_values(operator: str, bound: Any, actual: Any) -> None:
    # For values of the bound's own kind, gt/lte and lt/gte are complements; otherwise none holds.
    opposite = {"gt": "lte", "lte": "gt", "lt": "gte", "gte": "lt"}[operator]
    one, other = (
        matches(attr(operator, value=bound), actual),
        matches(attr(opposite, value=bound), actual),
    )
    if isinstance(bound, str):
        comparable = isinstance(actual, str) and parse_datetime(actual) is not None
    else:
        comparable = isinstance(actual, int | float) and not isinstance(actual, bool)
    if comparable:
        assert one != other
    else:
        assert not one and not other


@MODEST
@given(ORDERED, ORDERED, STORED_VALUES)
def test_between_is_gte_and_lte(low: Any, high: Any, actual: Any) -> None:
    both = clause("and", attr("gte", value=low), attr("lte", value=high))
    assert matches(attr("between", value=low, value2=high), actual) == matches(both, actual)


@MODEST
@given(datetime_texts(), datetime_texts())
def test_datetimes_compare_as_instants_whatever_the_offset(left: str, right: str) -> None:
    a, b = parse_datetime(left), parse_datetime(right)
    assert a is not None and b is not None
    assert matches(attr("eq", value=right), left) is (a == b)
    assert matches(attr("lt", value=right), left) is (a < b)
    assert matches(attr("gte", value=right), left) is (a >= b)


@MODEST
@given(st.booleans(), STORED_VALUES)
def test_true_and_false_match_only_booleans(flag: bool, actual: Any) -> None:
    # Not complements: a missing (or non-boolean) attribute is neither true nor false.
    is_true, is_false = matches(attr("true"), actual), matches(attr("false"), actual)
    assert is_true is (actual is True)
    assert is_false is (actual is False)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.just(10**400)
    | st.floats()
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "operator", "conditions", "attribute_name", "value", "values"])
            | st.text(max_size=4),
            children,
            max_size=4,
        )
    ),
    max_leaves=10,
)
ODD_VALUES = JSON | STORED_VALUES | st.text() | st.lists(st.text() | NUMBERS, max_size=3)


@MODEST
@given(CONDITIONS, st.dictionaries(st.sampled_from(NAMES), ODD_VALUES, max_size=3))
def test_evaluation_never_raises_on_odd_stored_values(
    condition: Condition, record: dict[str, Any]
) -> None:
    assert holds(condition, record) in (True, False)


NEAR_MISSES = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["attribute", "clause"]),
        "operator": st.sampled_from(sorted(ALL_OPERATORS | {"and", "or"})),
        "attribute_name": st.sampled_from(["plan", "group/plan", "group/", "a/b", ""]) | JSON,
    },
    optional={
        "value": st.just(10**400) | SCALARS | JSON | st.text(max_size=30),
        "value2": SCALARS | JSON,
        "values": STRING_LISTS | JSON,
        "conditions": st.lists(st.just(GOOD) | JSON, max_size=3),
    },
)


@MODEST
@given(JSON | NEAR_MISSES, STORED_VALUES)
def test_parsing_arbitrary_input_raises_only_invalid_input(raw: Any, actual: Any) -> None:
    try:
        condition = parse_condition(raw)
    except InvalidInput as error:
        assert str(error).startswith("Invalid `condition")
        return
    assert evaluate(condition, lambda s, n: actual) in (True, False)
