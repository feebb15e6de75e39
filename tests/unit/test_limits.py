"""The table of limits: its checks, its agreement with the keys, and README.md."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import limits
from shared.domain.errors import InvalidInput
from shared.store import keys

README = Path(__file__).resolve().parents[2] / "README.md"
# The longest environment id the control plane makes ("env_" + 16 characters), and the
# longest timestamp the API writes.
ENVIRONMENT = "env_" + "x" * 16
CREATED_AT = "2026-11-29T15:49:36.044+00:00"


def test_readme_publishes_the_table_of_limits_as_the_code_has_it() -> None:
    text = README.read_text()
    start = text.index(limits.README_START) + len(limits.README_START)
    end = text.index(limits.README_END)
    assert text[start:end].strip() == limits.markdown_table(), (
        "README.md is out of date: run `.venv/bin/python -m shared.domain.limits`"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "empty"),
        ("a/b", "`/`"),
        (".", "`.`"),
        ("..", "`..`"),
        ("tab\there", "control"),
        ("del\x7f", "control"),
        ("x" * 481, "480 bytes"),
        ("é" * 241, "480 bytes"),  # 241 characters, 482 bytes
        ("\ud800", "Unicode"),
    ],
)
def test_ids_that_cannot_be_stored_or_addressed(value: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=rf"Invalid `id`: .*{problem}"):
        limits.check_id(value, "id")


@pytest.mark.parametrize(
    "value", ["1", "x" * 480, "é" * 240, "😀" * 120, "a b@c.d+1:é", "...", "%2F"]
)
def test_ids_at_and_under_the_limits(value: str) -> None:
    assert limits.check_id(value, "id") == value


@settings(max_examples=300, deadline=None)
@given(user_id=st.text(min_size=1), group_id=st.text(min_size=1))
def test_every_accepted_id_fits_every_key_it_is_part_of(user_id: str, group_id: str) -> None:
    """DynamoDB: a partition key at most 2,048 bytes, a sort key 1,024, in every index."""
    if limits.id_problem(user_id) or limits.id_problem(group_id):
        return
    partition_keys = [
        keys.user(ENVIRONMENT, user_id)["PK"],
        keys.group(ENVIRONMENT, group_id)["PK"],
        keys.group_members_listing(ENVIRONMENT, group_id),
        keys.group_events_listing(ENVIRONMENT, group_id),
    ]
    sort_keys = [
        keys.created_order(CREATED_AT, user_id),
        keys.membership(ENVIRONMENT, user_id, group_id)["SK"],
        keys.membership_in_listing(user_id, group_id),
        # A membership's creation order holds both ids.
        keys.created_order(CREATED_AT, keys.membership_in_listing(user_id, group_id)),
        keys.event_sort_key(user_id),  # a `starting_after` on a user's events
    ]
    assert max(limits.utf8_size(k) for k in partition_keys) <= 2048
    assert max(limits.utf8_size(k) for k in sort_keys) <= 1024


def test_an_email_at_its_limit_fits_its_index_key() -> None:
    email = "é" * (limits.MAX_EMAIL_BYTES // 2)
    limits.check_email(email, "email")
    assert limits.utf8_size(keys.users_by_email(ENVIRONMENT, email)) <= 2048
    with pytest.raises(InvalidInput, match="1,024 bytes"):
        limits.check_email(email + "a", "email")


@pytest.mark.parametrize(
    ("number", "storable"),
    [
        (0, True),
        (-0.0, True),
        (1e-130, True),
        (-1e-130, True),
        (1e-131, False),
        (9.99999999999999e125, True),
        (1e126, False),
        (10**38 - 1, True),  # 38 digits
        (10**38 + 1, False),  # 39 significant digits
        (10**50, True),  # one significant digit
        (123.456, True),
        (float("nan"), False),
        (float("inf"), False),
    ],
)
def test_numbers_dynamodb_can_store(number: float, storable: bool) -> None:
    assert limits.is_storable_number(number) is storable


def test_sums_are_exact_as_dynamodb_adds_them() -> None:
    assert limits.exact_sum(0.1, 0.2) == Decimal("0.3")
    assert limits.exact_sum(9 * 10**37, 9 * 10**37) == 18 * 10**37  # 2 significant digits
    assert limits.exact_sum(10**37 + 1, 0.5) is None  # 39 significant digits
    assert limits.exact_sum(9e125, 9e125) is None  # 1.8e126 is out of range


def test_storable_decimals_drop_trailing_zeros_so_boto3_takes_them() -> None:
    assert limits.storable_decimal(10**50) == Decimal("1E+50")
    assert limits.storable_decimal(1.5e-130) == Decimal("1.5E-130")
    assert limits.storable_decimal(-0.0) == 0


def test_item_size_counts_utf8_names_and_values() -> None:
    item = {"a": "€", "bé": 12, "ok": True, "l": ["x", "yy"], "m": {"k": "v"}}
    # a:1+3, bé:3+21, ok:2+1, l:1+(3+2+3), m:1+(3+1+1+1)
    assert limits.item_size(item) == 4 + 24 + 3 + 9 + 7


def test_an_object_over_the_size_limit_names_the_field_and_the_limit() -> None:
    with pytest.raises(InvalidInput, match=r"`attributes`.*400,000 bytes"):
        limits.check_object_size({"x": "a" * 400_000}, "attributes", "user")
