"""Request conventions every route shares: version header, content negotiation, JSON bodies."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

from shared.domain.limits import MAX_BODY_BYTES
from shared.http.errors import ApiError, BadRequest

if TYPE_CHECKING:
    # Only the body models load pydantic, on the first request that parses one (cold start).
    from pydantic import BaseModel, ValidationError

API_VERSION = "2020-01-03"
VERSION_HEADER = "userflow-version"

Model = TypeVar("Model", bound="BaseModel")


def check_version(version: str | None) -> None:
    if version is not None and version.strip() != API_VERSION:
        raise BadRequest(
            f"Unsupported Userflow-Version {version!r}: the supported version is {API_VERSION}.",
            code="invalid_version",
        )


def check_accept(accept: str | None) -> None:
    """406 unless the client accepts JSON (no Accept header means anything goes)."""
    if not accept:
        return
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in {"*/*", "application/*", "application/json"} or media.endswith("+json"):
            return
    raise ApiError(406, "not_acceptable", "This API only responds with application/json.")


def check_content_type(content_type: str | None, body: str | None) -> None:
    """415 for a body that is not declared as JSON."""
    if not body:
        return
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            "Request bodies must be JSON: send 'Content-Type: application/json'.",
        )


def parse_json_body(body: str | None, max_bytes: int = MAX_BODY_BYTES) -> Any:
    if not body:
        raise BadRequest("The request body is empty: send a JSON object.")
    # Characters first: no UTF-8 encoding is shorter, so a huge body is refused unencoded.
    if len(body) > max_bytes or len(body.encode("utf-8", "surrogatepass")) > max_bytes:
        raise BadRequest(f"The request body is larger than {max_bytes:,} bytes.")
    try:
        data = json.loads(body)
        # `\ud800` escapes give lone surrogates, which no store can encode: refuse them here.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("The request body holds text that is not valid Unicode.") from None
    except (ValueError, RecursionError) as error:
        raise BadRequest(f"The request body is not valid JSON: {error}.") from None
    return data


def parse_model(model: type[Model], data: Any) -> Model:
    """Validate a parsed body against a pydantic model; a 400 names the first bad field."""
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    from pydantic import ValidationError  # loaded with `model`

    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise BadRequest(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first["loc"]) or "body"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "value_error":
        message = str(first.get("ctx", {}).get("error") or message.removeprefix("Value error, "))
    return f"Invalid `{location}`: {message}."
