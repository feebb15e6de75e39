"""Version header, content negotiation and JSON bodies."""

from __future__ import annotations

import pytest

from shared.http.app import path_parameter
from shared.http.conventions import (
    check_accept,
    check_content_type,
    check_version,
    parse_json_body,
)
from shared.http.errors import ApiError


@pytest.mark.parametrize("version", [None, "2020-01-03", " 2020-01-03 "])
def test_supported_versions(version: str | None) -> None:
    check_version(version)


@pytest.mark.parametrize("version", ["2021-01-01", "", "latest"])
def test_unknown_versions_are_400(version: str) -> None:
    with pytest.raises(ApiError) as error:
        check_version(version)
    assert (error.value.status, error.value.code) == (400, "invalid_version")


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/json; charset=utf-8",
        "text/html, application/json;q=0.9",
        "application/*",
    ],
)
def test_json_accepting_clients(accept: str | None) -> None:
    check_accept(accept)


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/csv, image/png"])
def test_non_json_accept_is_406(accept: str) -> None:
    with pytest.raises(ApiError) as error:
        check_accept(accept)
    assert error.value.status == 406


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_non_json_bodies_are_415(content_type: str | None) -> None:
    with pytest.raises(ApiError) as error:
        check_content_type(content_type, '{"id": "1"}')
    assert error.value.status == 415


def test_json_content_type_with_charset_is_accepted() -> None:
    check_content_type("application/json; charset=utf-8", "{}")
    check_content_type(None, None)


@pytest.mark.parametrize("body", [None, "", "{", "[1,", "nan?", "[" * 100_000])
def test_malformed_bodies_are_400(body: str | None) -> None:
    with pytest.raises(ApiError) as error:
        parse_json_body(body)
    assert error.value.status == 400


def test_a_body_is_measured_in_utf8_bytes() -> None:
    text = '{"a": "' + "€" * 90_000 + '"}'  # 90,010 characters, 270,010 bytes
    with pytest.raises(ApiError, match="262,144 bytes"):
        parse_json_body(text)
    assert parse_json_body('{"a": "' + "€" * 80_000 + '"}')["a"] == "€" * 80_000


def test_text_that_is_not_valid_unicode_is_a_400() -> None:
    with pytest.raises(ApiError, match="not valid Unicode"):
        parse_json_body('{"id": "\\ud800"}')
    assert parse_json_body('{"id": "\\ud83d\\ude00"}') == {"id": "😀"}  # a pair is fine


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("a%20b%40c.d%2B1%3A%C3%A9", "a b@c.d+1:é"),
        ("100%2520", "100%20"),  # decoded once: %25 is a literal percent sign
        ("a+b", "a+b"),  # a path is not a form: + stays +
        ("%F0%9F%98%80", "😀"),
    ],
)
def test_path_parameters_are_decoded_exactly_once(raw: str, decoded: str) -> None:
    assert path_parameter("user_id", raw) == decoded


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("%FF", "UTF-8"),
        ("a%2Fb", "`/`"),
        ("%2E%2E", "`..`"),
        ("%00", "control"),
        ("x" * 481, "480"),
    ],
)
def test_path_parameters_no_object_can_have_are_400s(raw: str, problem: str) -> None:
    with pytest.raises(ApiError, match=rf"Invalid `user_id`: .*{problem}") as error:
        path_parameter("user_id", raw)
    assert error.value.status == 400
