"""Attribute values as text whose order is the list order: the sort keys of ordered entries.

The order is `ordering.sort_value`'s, the one lists sorted in memory use: numbers (booleans
as 0 and 1) before text, text by folded case, a missing value after both. DynamoDB compares
string keys by UTF-8 bytes, which is code-point order, as Python compares `str`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

NUMBER, TEXT, MISSING = "1", "2", "3"
# What an entry keeps of a text: 120 characters (at most 480 bytes), the creation time (29),
# a user id (at most 480) and two separators stay within DynamoDB's 1,024-byte sort key.
INDEXED_CHARACTERS = 120
# Sorts below every character a folded text keeps (control characters are dropped).
SEPARATOR = "\x01"
# The exponent of the leading digit, shifted to be positive and fixed-width: DynamoDB
# numbers lie between 1E-130 and 9.9E125, far inside +-5,000.
_EXPONENT_SHIFT = 5_000


def sortable(value: Any) -> str:
    """The text of `value` for an index sort key (None: a missing value)."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return NUMBER + sortable_number(Decimal(int(value)))
    if isinstance(value, float):
        return NUMBER + sortable_number(Decimal(str(value)))
    if isinstance(value, int | Decimal):
        return NUMBER + sortable_number(Decimal(value))
    text = str(value).casefold()
    return TEXT + "".join(c for c in text if c >= " ")[:INDEXED_CHARACTERS]


def sortable_number(number: Decimal) -> str:
    """Text order is number order: a sign class (0 negative, 1 zero, 2 positive), the leading
    digit's exponent (fixed-width; inverted for negatives), then the digits (complemented for
    negatives, and closed by `~`, above every digit, so a longer negative sorts first)."""
    if number.is_zero():
        return "1"
    sign, digits, _ = number.normalize().as_tuple()
    exponent = number.adjusted() + _EXPONENT_SHIFT
    text = "".join(str(d) for d in digits)
    if not sign:
        return f"2{exponent:04d}{text}"
    complement = "".join(str(9 - int(d)) for d in text)
    return f"0{9_999 - exponent:04d}{complement}~"
