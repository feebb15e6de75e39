"""Usertour's v1 API as a presentation of Waymark's: which Waymark route serves each v1 route,
how a v1 request reads as a Waymark request, and how a Waymark answer reads in v1.

Pure and declarative: the v1 function (functions/usertour_v1) turns a v1 request into the
Waymark request this module describes, runs the Waymark handler that serves it (the same
rules, store and limits), and turns its answer back with this module. Nothing here decides
anything about the data itself.

v1 as Usertour documents it (docs.usertour.io, API reference v1): camelCase fields, companies
for groups, lists as `{results, next, previous}` paged with `limit` (default 20) and `cursor`,
`orderBy`, `expand`, and errors as `{"error": {"code": "E10xx", "message", "doc_url"}}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

DOC_URL = "https://docs.usertour.io/api-reference/errors"
DEFAULT_LIMIT = "20"


@dataclass(frozen=True)
class Route:
    """A v1 route and the Waymark route behind it."""

    handler: str  # the Waymark handler module serving it
    template: str  # the Waymark resource template
    methods: tuple[str, ...]  # what v1 documents on it
    not_found: str = "E1009"  # the v1 code of its 404
    # v1 orderBy fields that mean another Waymark field here.
    order_fields: tuple[tuple[str, str], ...] = ()
    # Expansions the mapping needs (to compute a field), asked for whether or not the client did.
    needs: tuple[str, ...] = ()


USERS = "functions.users.handler"
GROUPS = "functions.groups.handler"
EVENTS = "functions.events.handler"
CONTENT = "functions.content.handler"
SESSIONS = "functions.content_sessions.handler"

ROUTES: dict[str, Route] = {
    "/v1/users": Route(USERS, "/users", ("GET", "POST")),
    "/v1/users/{user_id}": Route(USERS, "/users/{user_id}", ("GET", "DELETE"), "E1001"),
    "/v1/companies": Route(GROUPS, "/groups", ("GET", "POST")),
    "/v1/companies/{company_id}": Route(GROUPS, "/groups/{group_id}", ("GET", "DELETE"), "E1002"),
    # POST upserts the membership through its user, as Usertour's docs describe (DELETE is
    # DELETE_MEMBERSHIP).
    "/v1/company-memberships": Route(USERS, "/users", ("POST", "DELETE"), "E1003"),
    # Not in Usertour's v1 docs (its events are definitions): Waymark's events in v1's style.
    "/v1/events": Route(EVENTS, "/events", ("GET", "POST")),
    "/v1/content": Route(CONTENT, "/content", ("GET",), needs=("draft_version",)),
    "/v1/content/{content_id}": Route(
        CONTENT, "/content/{content_id}", ("GET",), "E1004", needs=("draft_version",)
    ),
    "/v1/content-versions": Route(
        CONTENT, "/content_versions", ("GET",), order_fields=(("createdAt", "number"),)
    ),
    "/v1/content-versions/{version_id}": Route(
        CONTENT, "/content_versions/{version_id}", ("GET",), "E1004"
    ),
    "/v1/content-sessions": Route(SESSIONS, "/content_sessions", ("GET",)),
    "/v1/content-sessions/{session_id}": Route(
        SESSIONS, "/content_sessions/{session_id}", ("GET", "DELETE"), "E1005"
    ),
    "/v1/content-sessions/{session_id}/end": Route(
        SESSIONS, "/content_sessions/{session_id}/end", ("POST",), "E1005"
    ),
}
DELETE_MEMBERSHIP = Route(GROUPS, "/group_memberships", ("DELETE",), "E1003")
# Query parameters a v1 list requires.
REQUIRED = {"/v1/content-versions": "contentId", "/v1/content-sessions": "contentId"}

# v1 names -> Waymark names, for query parameters, path parameters and body fields.
PARAMETERS = {
    "cursor": "starting_after",
    "orderBy": "order_by",
    "companyId": "group_id",
    "userId": "user_id",
    "contentId": "content_id",
    "segmentId": "segment_id",
    "company_id": "group_id",
}
# Expandable fields: v1 -> Waymark.
EXPANSIONS = {
    "companies": "groups",
    "company": "group",
    "editedVersion": "draft_version",
    "publishedVersion": "published_version",
}
# Waymark names -> v1 names, in error messages (backticked names and their paths).
_SHOWN = {
    "starting_after": "cursor",
    "order_by": "orderBy",
    "group_id": "companyId",
    "user_id": "userId",
    "content_id": "contentId",
    "segment_id": "segmentId",
    "groups": "companies",
    "group": "company",
}
QUESTION_TYPES = {
    "nps": "nps",
    "stars": "star-rating",
    "text": "single-line-text",
    "multiline_text": "multi-line-text",
    "multiple_choice": "multiple-choice",
}
OBJECT_NAMES = {
    "user": "user",
    "group": "company",
    "group_membership": "companyMembership",
    "event": "event",
    "content": "content",
    "content_version": "contentVersion",
    "question": "question",
    "content_session": "contentSession",
    "content_session_answer": "contentSessionAnswer",
}


# --- requests -----------------------------------------------------------------------------------


def camel_to_snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def waymark_params(
    resource: str, params: Mapping[str, Sequence[str]], *, listing: bool
) -> tuple[dict[str, list[str]], list[str]]:
    """A v1 request's query as Waymark's, and the expansions the client asked for (Waymark
    names). A v1 list's default page is 20 objects."""
    route = ROUTES[resource]
    orders = dict(route.order_fields)
    found: dict[str, list[str]] = {}
    asked: list[str] = []
    for name, values in params.items():
        base = name.removesuffix("[]")
        if base == "expand":
            asked += [_expand_path(v) for v in values]
            continue
        if base == "orderBy":
            values = [_order_field(v, orders) for v in values]
        target = PARAMETERS.get(base, base)
        found.setdefault(target + ("[]" if name.endswith("[]") else ""), []).extend(values)
    if listing:
        found.setdefault("limit", [DEFAULT_LIMIT])
    expand = list(dict.fromkeys([*asked, *_needed(route, asked)]))
    if expand:
        found["expand[]"] = expand
    return found, asked


def _expand_path(path: str) -> str:
    return ".".join(EXPANSIONS.get(part, part) for part in path.split("."))


def _order_field(value: str, overrides: Mapping[str, str]) -> str:
    descending = value.startswith("-")
    name = value.removeprefix("-")
    field = overrides.get(name) or (
        name if name.startswith("attributes.") else camel_to_snake(name)
    )
    return f"-{field}" if descending else field


def _needed(route: Route, asked: Sequence[str]) -> list[str]:
    needed = list(route.needs)
    # A session's answers name their question's type, which its version knows; a session's
    # content says when it changed, which its draft knows.
    if route.handler == SESSIONS and any(_wants(asked, "answers")):
        needed.append("version.questions")
    if route.handler == SESSIONS and any(_wants(asked, "content")):
        needed.append("content.draft_version")
    return needed


def _wants(paths: Sequence[str], field: str) -> list[bool]:
    return [p == field or p.startswith(field + ".") for p in paths]


def waymark_user_body(body: Any) -> Any:
    """POST /v1/users: `companies` are `groups`, a membership's `company` its `group`."""
    if not isinstance(body, dict):
        return body
    found = {("groups" if k == "companies" else k): v for k, v in body.items()}
    memberships = found.get("memberships")
    if isinstance(memberships, list):
        found["memberships"] = [
            {("group" if k == "company" else k): v for k, v in m.items()}
            if isinstance(m, dict)
            else m
            for m in memberships
        ]
    return found


def waymark_membership_body(body: Any) -> Any:
    """POST /v1/company-memberships `{userId, companyId, attributes}`: the user upsert that
    makes the membership."""
    if not isinstance(body, dict):
        return body
    unknown = set(body) - {"userId", "companyId", "attributes"}
    membership = {"attributes": body.get("attributes"), "group": {"id": body.get("companyId")}}
    return {
        "id": body.get("userId"),
        "memberships": [membership],
        **{name: body[name] for name in unknown},  # refused by the body's model: a 400
    }


def waymark_event_body(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    return {PARAMETERS.get(k, k): v for k, v in body.items()}


# --- answers -------------------------------------------------------------------------------------


def v1_object(obj: Any, asked: Sequence[str]) -> Any:
    """A Waymark object as v1 shows it; expandable fields the client did not ask for (though
    the mapping may have) are null."""
    if not isinstance(obj, dict) or "object" not in obj:
        return obj
    kind = obj["object"]
    if obj.get("deleted") is True:
        return {"id": obj["id"], "object": OBJECT_NAMES.get(kind, kind), "deleted": True}
    mapper = _MAPPERS.get(kind)
    return mapper(obj, asked) if mapper else obj


def _expanded(obj: Mapping[str, Any], field: str, asked: Sequence[str]) -> Any:
    """An expandable field (its Waymark name) when the client asked for it, else null."""
    if not any(_wants(asked, field)):
        return None
    value = obj.get(field)
    below = [p[len(field) + 1 :] for p in asked if p.startswith(field + ".")]
    if isinstance(value, list):
        return [v1_object(v, below) for v in value]
    return v1_object(value, below)


def _user(obj: Mapping[str, Any], asked: Sequence[str]) -> dict[str, Any]:
    return {
        "id": obj["id"],
        "object": "user",
        "attributes": obj["attributes"],
        "createdAt": obj["created_at"],
        "companies": _expanded(obj, "groups", asked),
        "memberships": _expanded(obj, "memberships", asked),
    }


def _company(obj: Mapping[str, Any], asked: Sequence[str]) -> dict[str, Any]:
    return {
        "id": obj["id"],
        "object": "company",
        "attributes": obj["attributes"],
        "createdAt": obj["created_at"],
        "memberships": _expanded(obj, "memberships", asked),
        "users": _expanded(obj, "users", asked),
    }


def _membership(obj: Mapping[str, Any], asked: Sequence[str]) -> dict[str, Any]:
    return {
        "id": obj["id"],
        "object": "companyMembership",
        "attributes": obj["attributes"],
        "createdAt": obj["created_at"],
        "company": _expanded(obj, "group", asked),
        "companyId": obj["group_id"],
        "user": _expanded(obj, "user", asked),
        "userId": obj["user_id"],
    }


def _event(obj: Mapping[str, Any], asked: Sequence[str]) -> dict[str, Any]:
    return {
        "id": obj["id"],
        "object": "event",
        "attributes": obj["attributes"],
        "createdAt": obj["created_at"],
        "company": _expanded(obj, "group", asked),
        "companyId": obj["group_id"],
        "name": obj["name"],
        "time": obj["time"],
        "user": _expanded(obj, "user", asked),
        "userId": obj["user_id"],
    }


def _content(obj: Mapping[str, Any], asked: Sequence[str]) -> dict[str, Any]:
    draft = obj.get("draft_version")
    edited = draft.get("edited_at") if isinstance(draft, dict) else None
    return {
        "id": obj["id"],
        "object": "content",
        "name": obj["name"],
        "type": obj["type"],
        "editedVersionId": obj["draft_version_id"],
        "editedVersion": _expanded(obj, "draft_version", asked),
        "publishedVersionId": obj["published_version_id"],
        "publishedVersion": _expanded(obj, "published_version", asked),
        # The content's last change: its draft's last edit (or its archiving, or creation).
        "updatedAt": max(t for t in (obj["created_at"], edited, obj.get("archived_at")) if t),
        "createdAt": obj["created_at"],
    }


def _version(obj: Mapping[str, Any], asked: Sequence[str]) -> dict[str, Any]:
    return {
        "id": obj["id"],
        "object": "contentVersion",
        "number": obj["number"],
        "questions": _expanded(obj, "questions", asked),
        "updatedAt": obj["edited_at"],
        "createdAt": obj["created_at"],
    }


def _question(obj: Mapping[str, Any], asked: Sequence[str]) -> dict[str, Any]:
    return {
        "id": obj["id"],
        "object": "question",
        "cvid": obj["cvid"],
        "name": obj["name"],
        "type": QUESTION_TYPES.get(obj["type"], obj["type"]),
    }


def _session(obj: Mapping[str, Any], asked: Sequence[str]) -> dict[str, Any]:
    version = obj.get("version")
    questions = version.get("questions") if isinstance(version, dict) else None
    types = {q["cvid"]: q["type"] for q in questions or []}
    answers = obj.get("answers")
    return {
        "id": obj["id"],
        "object": "contentSession",
        "answers": (
            [_answer(a, types) for a in answers]
            if any(_wants(asked, "answers")) and isinstance(answers, list)
            else None
        ),
        "completedAt": obj["completed_at"],
        "completed": obj["completed"],
        "contentId": obj["content_id"],
        "content": _expanded(obj, "content", asked),
        "createdAt": obj["created_at"],
        "companyId": obj["group_id"],
        "company": _expanded(obj, "group", asked),
        "isPreview": obj["is_preview"],
        "lastActivityAt": obj["last_activity_at"],
        "progress": float(obj["progress"]),
        "userId": obj["user_id"],
        "user": _expanded(obj, "user", asked),
        "versionId": obj["version_id"],
        "version": _expanded(obj, "version", asked),
    }


def _answer(obj: Mapping[str, Any], question_types: Mapping[str, str]) -> dict[str, Any]:
    value = obj["answer_value"]
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)
    kind = question_types.get(obj["question_cvid"])
    return {
        "id": obj["id"],
        "object": "contentSessionAnswer",
        "answerType": QUESTION_TYPES.get(kind, obj["answer_type"]) if kind else obj["answer_type"],
        "answerValue": text,
        "createdAt": obj["created_at"],
        "questionCvid": obj["question_cvid"],
        "questionName": obj["question_name"],
    }


_MAPPERS = {
    "user": _user,
    "group": _company,
    "group_membership": _membership,
    "event": _event,
    "content": _content,
    "content_version": _version,
    "question": _question,
    "content_session": _session,
}


def v1_list(
    page: Mapping[str, Any],
    asked: Sequence[str],
    path: str,
    params: Mapping[str, Sequence[str]],
) -> dict[str, Any]:
    """A Waymark list object as v1's: `next` is the v1 URL of the next page (with the
    client's parameters and the cursor), null on the last; there are no backward pages."""
    next_url = None
    if page["has_more"]:
        cursor = _query_value(page["next_page_url"], "starting_after")
        pairs = [(k, v) for k, values in params.items() if k != "cursor" for v in values]
        if cursor is not None:
            pairs.append(("cursor", cursor))
        next_url = f"{path}?{urlencode(pairs)}"
    return {
        "results": [v1_object(obj, asked) for obj in page["data"]],
        "next": next_url,
        "previous": None,
    }


def _query_value(url: str, name: str) -> str | None:
    from urllib.parse import parse_qs, urlsplit

    values = parse_qs(urlsplit(url).query).get(name)
    return values[-1] if values else None


def membership_of(user: Mapping[str, Any], company_id: str) -> dict[str, Any] | None:
    """The membership a v1 membership upsert made, from its user's answer."""
    for membership in user.get("memberships") or []:
        if membership["group_id"] == company_id:
            return dict(membership)
    return None


# --- errors --------------------------------------------------------------------------------------


def v1_error(
    status: int, code: str, message: str, resource: str, request_id: str
) -> dict[str, Any]:
    """A Waymark error envelope as v1's: its documented codes, names as v1 spells them."""
    shown = _v1_names(message)
    return {
        "error": {
            "code": _v1_code(status, code, shown, resource),
            "message": shown,
            "doc_url": DOC_URL,
            "request_id": request_id,
        }
    }


def _v1_code(status: int, code: str, message: str, resource: str) -> str:
    if status == 404:
        route = ROUTES.get(resource)
        return route.not_found if route and code == "not_found" else "E1009"
    if status == 400 and code == "invalid_request":
        for parameter, v1_code in (("limit", "E1006"), ("cursor", "E1007"), ("orderBy", "E1016")):
            if message.startswith(f"Invalid `{parameter}`"):
                return v1_code
        return "E1017"
    if status == 401:
        return "E1000"
    if status == 429:
        return "E1013"
    if status == 503:
        return "E1014"
    return "E1009"


def _v1_names(message: str) -> str:
    def rename(match: re.Match[str]) -> str:
        parts = re.split(r"([.\[\]])", match.group(1))
        return "`" + "".join(_SHOWN.get(part, part) for part in parts) + "`"

    renamed = re.sub(r"`([^`]+)`", rename, message)
    return renamed.replace("No group with id", "No company with id")
