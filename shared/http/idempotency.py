"""The `Idempotency-Key` header's rules: which keys are valid, what makes two requests the same,
and which responses are kept. Pure: the middleware in `shared/http/app.py` applies them, and
`shared/store/idempotency.py` keeps the records.

`HEADER_DESCRIPTION` is the header's documentation, written once for the README and the
OpenAPI document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from shared.domain.limits import (
    IDEMPOTENCY_RETENTION_SECONDS,
    MAX_BODY_BYTES,
    MAX_IDEMPOTENCY_KEY_LENGTH,
)
from shared.http.errors import BadRequest

HEADER = "Idempotency-Key"
# Set on a response that is a replay of the first response to the same key (Stripe's name).
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A request held by another one with the same key is usually done within a second.
IN_USE_RETRY_AFTER_SECONDS = 1
# The error codes of the header's answers.
INVALID_KEY = "invalid_idempotency_key"
KEY_REUSED = "idempotency_key_reused"
KEY_IN_USE = "idempotency_key_in_use"
RESPONSE_UNAVAILABLE = "idempotency_response_unavailable"
ERROR_CODES = (INVALID_KEY, KEY_REUSED, KEY_IN_USE, RESPONSE_UNAVAILABLE)
# Statuses that ask the client to retry: keeping them would answer every retry with them.
RETRY_STATUSES = frozenset({409, 429})

HEADER_DESCRIPTION = (
    f"Optional on every write (POST, PATCH, DELETE). A unique value per logical request, "
    f"1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters of printable ASCII (a UUID is a good "
    f"choice). For {IDEMPOTENCY_RETENTION_SECONDS // 3600} hours, the same key with the same "
    "request (method, path, query parameters and JSON body) is answered with the first "
    f"response, status and body, with `{REPLAYED_HEADER}: true`, and changes nothing. The "
    f"same key with a different request is a 409 `{KEY_REUSED}`; while the first "
    f"request is still running, a 409 `{KEY_IN_USE}` with `Retry-After`. Responses "
    "with a 5xx, a 409 or a 429 are not kept: the key is released and a retry runs the "
    "request again. Keys are scoped to the environment of the API key."
)


def check_key(values: Sequence[str]) -> str:
    """The one key a request sent, or a 400 that says what is wrong with it."""
    if len(values) != 1:
        raise BadRequest(f"Send one `{HEADER}` header, not {len(values)}.", code=INVALID_KEY)
    problem = key_problem(values[0])
    if problem:
        raise BadRequest(f"Invalid `{HEADER}` header: {problem}.", code=INVALID_KEY)
    return values[0]


def key_problem(key: str) -> str | None:
    if not key.strip():
        return "it is empty"
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        return f"it is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters"
    if not all(" " <= character <= "~" for character in key):
        return "use only printable ASCII characters (space to `~`)"
    return None


def fingerprint(
    method: str, path: str, query: Mapping[str, Sequence[str]], body: str | None
) -> str:
    """What makes two requests with one key the same request: SHA-256 (hex) of the method, the
    path as sent, the query parameters (by name; a repeated one's values in order) and the
    body: as JSON when it parses, key order and spacing aside, so a client that serializes its
    retry anew matches; byte for byte otherwise. Bounded work: a body over the body limit (the
    handler refuses it) is not parsed.
    """
    canonical = _canonical_body(body)
    request = json.dumps(
        [method.upper(), path, sorted((name, list(values)) for name, values in query.items())],
        separators=(",", ":"),
    )
    digest = hashlib.sha256(request.encode())
    digest.update(b"\n")
    digest.update(canonical)
    return digest.hexdigest()


def _canonical_body(body: str | None) -> bytes:
    if not body:
        return b"-"
    raw = body.encode("utf-8", "surrogatepass")
    if len(body) <= MAX_BODY_BYTES:
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            pass
        else:
            return b"J" + json.dumps(
                parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8", "surrogatepass")
    return b"R" + raw


def is_kept(status: int) -> bool:
    """Whether a response is kept for replays. 2xx and 4xx are: a 4xx changed nothing, and the
    same request gets the same answer (as Stripe does). 5xx, 409 and 429 are not: they ask the
    client to retry, so the key is released and the retry runs again."""
    return status < 500 and status not in RETRY_STATUSES


def reused_message(method: str, path: str) -> str:
    return (
        f"This `{HEADER}` was used in the last {IDEMPOTENCY_RETENTION_SECONDS // 3600} hours "
        f"for a different request than this {method.upper()} {path} (another method, path, "
        "query or body). Use a new key for a new request."
    )


IN_USE_MESSAGE = (
    f"A request with this `{HEADER}` is still in progress. Retry in "
    f"{IN_USE_RETRY_AFTER_SECONDS} second to get its response."
)


def unavailable_message(status: int, size: int) -> str:
    return (
        f"The request with this `{HEADER}` was done (status {status}), but its response "
        f"({size:,} bytes) was too large to keep for replays; nothing was changed again. Read "
        "the object with GET."
    )
