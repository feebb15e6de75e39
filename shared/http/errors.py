"""The API's errors: one exception type, rendered once as the spec's error envelope."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from shared.domain.errors import Conflict, InvalidInput, Unavailable, Unknown


class ApiError(Exception):
    """An error the client can act on: an HTTP status, a machine code and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class BadRequest(ApiError):
    def __init__(self, message: str, code: str = "invalid_request") -> None:
        super().__init__(HTTPStatus.BAD_REQUEST, code, message)


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(HTTPStatus.NOT_FOUND, "not_found", message)


def envelope(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": request_id}}


CONFLICT_MESSAGE = "Too many concurrent updates to this object; retry the request."
UNAVAILABLE_MESSAGE = "A service this request needs is unavailable; nothing changed. Retry shortly."
# What the API answers with a 4xx (or the 503 of an unavailable dependency), each as `described`.
CLIENT_ERRORS: tuple[type[Exception], ...] = (
    ApiError,
    InvalidInput,
    Unknown,
    Conflict,
    Unavailable,
)


def described(error: Exception) -> tuple[int, str, str] | None:
    """The status, code and message the API answers `error` with; None for anything else (a
    bug: a 500)."""
    if isinstance(error, ApiError):
        return error.status, error.code, error.message
    if isinstance(error, InvalidInput):
        return HTTPStatus.BAD_REQUEST, "invalid_request", str(error)
    if isinstance(error, Unknown):
        return HTTPStatus.NOT_FOUND, "not_found", str(error)
    if isinstance(error, Conflict):
        return HTTPStatus.CONFLICT, "conflict", CONFLICT_MESSAGE
    if isinstance(error, Unavailable):
        return HTTPStatus.SERVICE_UNAVAILABLE, "service_unavailable", UNAVAILABLE_MESSAGE
    return None
