"""The Idempotency-Key header's pure rules: valid keys, what makes two requests the same, and
which responses are kept."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.limits import MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY_LENGTH
from shared.http import idempotency
from shared.http.errors import ApiError


@pytest.mark.parametrize(
    "key",
    [
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "k",
        "x" * MAX_IDEMPOTENCY_KEY_LENGTH,
        "order 42: retry #3 ~ {a}",
        " padded ",
    ],
)
def test_keys_of_printable_ascii_up_to_255_characters_are_valid(key: str) -> None:
    assert idempotency.check_key([key]) == key


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([""], "it is empty"),
        (["   "], "it is empty"),
        (["x" * (MAX_IDEMPOTENCY_KEY_LENGTH + 1)], "longer than 255 characters"),
        (["caf\u00e9"], "printable ASCII"),
        (["tab\tinside"], "printable ASCII"),
        (["del\x7f"], "printable ASCII"),
        (["a", "b"], "Send one `Idempotency-Key` header, not 2"),
        (["a", "a"], "not 2"),
    ],
)
def test_other_keys_are_a_400_naming_the_header(values: list[str], message: str) -> None:
    with pytest.raises(ApiError, match=message) as error:
        idempotency.check_key(values)
    assert (error.value.status, error.value.code) == (400, "invalid_idempotency_key")


@given(st.text(max_size=300))
def test_any_text_is_either_a_valid_key_or_a_400(key: str) -> None:
    valid = (
        bool(key.strip())
        and len(key.encode("utf-8", "surrogatepass")) <= MAX_IDEMPOTENCY_KEY_LENGTH
        and all(32 <= ord(c) <= 126 for c in key)
    )
    if valid:
        assert idempotency.check_key([key]) == key
    else:
        with pytest.raises(ApiError, match="Idempotency-Key"):
            idempotency.check_key([key])


def _fingerprint(
    body: str | None,
    method: str = "POST",
    path: str = "/users",
    query: dict[str, list[str]] | None = None,
) -> str:
    return idempotency.fingerprint(method, path, query or {}, body)


def test_the_same_json_in_another_order_or_spacing_is_the_same_request() -> None:
    first = _fingerprint('{"id": "1", "attributes": {"a": 1, "b": [1, 2]}}')
    assert _fingerprint('{"attributes":{"b":[1,2],"a":1},"id":"1"}') == first
    assert _fingerprint(json.dumps({"id": "1", "attributes": {"b": [1, 2], "a": 1}})) == first


@pytest.mark.parametrize(
    "other",
    [
        {"body": '{"id": "1", "attributes": {"a": 2}}'},
        {"body": '{"id": "1", "attributes": {"a": 1.0}}'},
        {"body": '{"id": "1", "attributes": {"a": 1}}', "method": "PATCH"},
        {"body": '{"id": "1", "attributes": {"a": 1}}', "path": "/groups"},
        {"body": '{"id": "1", "attributes": {"a": 1}}', "query": {"expand": ["memberships"]}},
        {"body": None},
        {"body": "not json"},
    ],
)
def test_another_method_path_query_or_body_is_another_request(other: dict[str, object]) -> None:
    first = _fingerprint('{"id": "1", "attributes": {"a": 1}}')
    assert _fingerprint(**other) != first  # type: ignore[arg-type]


def test_query_parameters_match_by_name_and_repeated_values_in_order() -> None:
    one = _fingerprint(None, query={"a": ["1"], "expand[]": ["x", "y"]})
    assert _fingerprint(None, query={"expand[]": ["x", "y"], "a": ["1"]}) == one
    assert _fingerprint(None, query={"expand[]": ["y", "x"], "a": ["1"]}) != one


def test_bodies_that_are_not_json_match_byte_for_byte() -> None:
    assert _fingerprint("{not json") == _fingerprint("{not json")
    assert _fingerprint("{not json") != _fingerprint("{not  json")
    assert _fingerprint('"\\ud800"') == _fingerprint('"\\ud800"')  # a lone surrogate


def test_a_body_over_the_limit_is_hashed_not_parsed() -> None:
    huge = json.dumps({"id": "x" * MAX_BODY_BYTES})
    reordered = json.dumps({"id": "x" * MAX_BODY_BYTES}, separators=(",", ":"))
    assert _fingerprint(huge) != _fingerprint(reordered)  # compared as bytes: not parsed


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(JSON_VALUES)
def test_any_json_value_matches_itself_however_it_is_spaced(value: object) -> None:
    assert _fingerprint(json.dumps(value)) == _fingerprint(json.dumps(value, indent=2))


@pytest.mark.parametrize(
    ("status", "kept"),
    [
        (200, True),
        (400, True),
        (404, True),
        (415, True),
        (409, False),  # "retry the request": replaying it would answer every retry with it
        (429, False),
        (500, False),
        (503, False),
    ],
)
def test_2xx_and_4xx_are_kept_but_not_answers_that_ask_for_a_retry(status: int, kept: bool) -> None:
    assert idempotency.is_kept(status) is kept


def test_the_readme_documents_the_header_and_its_answers() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name in (idempotency.HEADER, idempotency.REPLAYED_HEADER, *idempotency.ERROR_CODES):
        assert f"`{name}" in readme, name
