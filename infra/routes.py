"""The route table: which function serves which API paths.

The single source of truth for both the CDK API construct and the local stack, so the two
can never disagree. Kept free of CDK imports: the local stack reads it without aws_cdk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionRoute:
    """One Lambda function and the API paths it serves (every method; the function answers 405)."""

    name: str
    handler: str  # "<module>.<attribute>", importable from the repository root
    paths: tuple[str, ...]
    # An API function answers within API Gateway's 29 s; most need far less (and their
    # latency alarms are a share of this).
    timeout_seconds: int = 10
    memory_mb: int = 512
    # Other function folders whose handlers this one runs (bundled into its asset).
    bundles: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    @property
    def folder(self) -> str:
        """The function's source folder, relative to the repository root."""
        return "/".join(self.module.split(".")[:-1])


API_FUNCTIONS: tuple[FunctionRoute, ...] = (
    FunctionRoute(
        name="users",
        handler="functions.users.handler.lambda_handler",
        paths=(
            "/users",
            "/users/{user_id}",
            # Extension: search. API Gateway routes the static segment first, so a user whose
            # id were `search` could not be read at /users/{user_id}: upserts refuse that id.
            "/users/search",
            # Extensions: opting a user out of content, and back in.
            "/users/{user_id}/unsubscribe",
            "/users/{user_id}/resubscribe",
        ),
    ),
    # Extension: up to 1,000 user upserts in one request. A function of its own: it needs
    # nearly all of API Gateway's 29 s and more memory, which the users function does not.
    # Its static path hides the user `bulk` from /users/{user_id}: upserts refuse that id.
    FunctionRoute(
        name="users_bulk",
        handler="functions.users_bulk.handler.lambda_handler",
        paths=("/users/bulk",),
        timeout_seconds=28,
        memory_mb=1024,
    ),
    FunctionRoute(
        name="groups",
        handler="functions.groups.handler.lambda_handler",
        paths=("/groups", "/groups/{group_id}", "/group_memberships"),
    ),
    FunctionRoute(
        name="events",
        handler="functions.events.handler.lambda_handler",
        paths=("/events",),
    ),
    FunctionRoute(
        name="definitions",
        handler="functions.definitions.handler.lambda_handler",
        paths=("/attribute_definitions", "/event_definitions"),
    ),
    FunctionRoute(
        name="segments",
        handler="functions.segments.handler.lambda_handler",
        paths=("/segments", "/segments/{segment_id}"),
    ),
    FunctionRoute(
        name="content",
        handler="functions.content.handler.lambda_handler",
        paths=(
            "/content",
            "/content/{content_id}",
            "/content_versions",
            "/content_versions/{version_id}",
            # Extensions: authoring.
            "/content/{content_id}/archive",
            "/content/{content_id}/unarchive",
            "/content/{content_id}/draft",
            "/content/{content_id}/publish",
        ),
    ),
    FunctionRoute(
        name="content_sessions",
        handler="functions.content_sessions.handler.lambda_handler",
        paths=(
            "/content_sessions",
            "/content_sessions/{session_id}",
            # Extensions: the session runtime.
            "/content_sessions/{session_id}/progress",
            "/content_sessions/{session_id}/answers",
            "/content_sessions/{session_id}/tasks/{task_cvid}/complete",
            "/content_sessions/{session_id}/activate_launcher",
            "/content_sessions/{session_id}/complete",
            "/content_sessions/{session_id}/end",
        ),
    ),
    # Extensions: import and export jobs (their steps run in the transfer_jobs function).
    FunctionRoute(
        name="transfers",
        handler="functions.transfers.handler.lambda_handler",
        paths=(
            "/imports",
            "/imports/{job_id}",
            "/imports/{job_id}/start",
            "/imports/{job_id}/errors",
            "/exports",
            "/exports/{job_id}",
        ),
    ),
    # Extension: Usertour's v1 API, run through the handlers above (shared/usertour/mapping.py
    # says which serves what).
    FunctionRoute(
        name="usertour_v1",
        handler="functions.usertour_v1.handler.lambda_handler",
        paths=(
            "/v1/users",
            "/v1/users/{user_id}",
            "/v1/companies",
            "/v1/companies/{company_id}",
            "/v1/company-memberships",
            "/v1/events",
            "/v1/content",
            "/v1/content/{content_id}",
            "/v1/content-versions",
            "/v1/content-versions/{version_id}",
            "/v1/content-sessions",
            "/v1/content-sessions/{session_id}",
            "/v1/content-sessions/{session_id}/end",
        ),
        bundles=(
            "functions/users",
            "functions/groups",
            "functions/events",
            "functions/content",
            "functions/content_sessions",
        ),
    ),
    FunctionRoute(
        name="webhook_subscriptions",
        handler="functions.webhook_subscriptions.handler.lambda_handler",
        paths=(
            "/webhook_subscriptions",
            "/webhook_subscriptions/{webhook_subscription_id}",
            # Extensions: secret rotation, test notifications, the delivery log, recovery.
            "/webhook_subscriptions/{webhook_subscription_id}/rotate_secret",
            "/webhook_subscriptions/{webhook_subscription_id}/test",
            "/webhook_subscriptions/{webhook_subscription_id}/recover",
            "/webhook_subscriptions/{webhook_subscription_id}/deliveries",
            "/webhook_subscriptions/{webhook_subscription_id}/deliveries/{delivery_id}",
            "/webhook_subscriptions/{webhook_subscription_id}/deliveries/{delivery_id}/resend",
        ),
    ),
)

AUTHORIZER = FunctionRoute(
    name="authorizer", handler="functions.authorizer.handler.lambda_handler", paths=()
)


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{pattern}$")


def specificity(template: str) -> tuple[int, ...]:
    """How API Gateway ranks templates matching the same path: segment by segment, a static
    segment before a variable one (`/users/search` before `/users/{user_id}`)."""
    return tuple(int(part.startswith("{")) for part in template.strip("/").split("/"))


_COMPILED = tuple(
    (function, template, _template_regex(template))
    for function in API_FUNCTIONS
    for template in function.paths
)


def match(
    path: str, functions: tuple[FunctionRoute, ...] = API_FUNCTIONS
) -> tuple[FunctionRoute, str, dict[str, str]] | None:
    """Find the function serving `path`: (function, resource template, path parameters).

    Of several matching templates the most specific wins, as in API Gateway, whatever their
    order in the table.
    """
    compiled = (
        _COMPILED
        if functions is API_FUNCTIONS
        else tuple(
            (function, template, _template_regex(template))
            for function in functions
            for template in function.paths
        )
    )
    found = [
        (specificity(template), function, template, hit.groupdict())
        for function, template, regex in compiled
        if (hit := regex.match(path))
    ]
    if not found:
        return None
    _, function, template, parameters = min(found, key=lambda candidate: candidate[0])
    return function, template, parameters
