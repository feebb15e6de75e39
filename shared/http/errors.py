"""The API's errors: one exception type, rendered once as the spec's error envelope."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


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
