"""Version header, content negotiation and JSON bodies."""

from __future__ import annotations

import pytest

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
