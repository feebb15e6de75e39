"""The JSON schemas of the API's objects, as shared/domain/objects.py and the handlers build
them; the OpenAPI document names them after shared/http/returns.py.

Expandable fields are null until expanded, then the expanded object (or list of objects).
Fields the reference shows are required; extensions are listed too. Additional properties
are allowed: the API may add fields, as the hosted API does.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
BOOLEAN: Schema = {"type": "boolean"}
INTEGER: Schema = {"type": "integer"}
ATTRIBUTES: Schema = {"type": "object", "additionalProperties": True}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def expandable(name: str) -> Schema:
    return nullable(ref(name))


def expandable_list(name: str) -> Schema:
    return nullable({"type": "array", "items": ref(name)})


def obj(object_type: str, properties: Schema, *, optional: tuple[str, ...] = ()) -> Schema:
    """An API object: `object` is its type; every listed field is required but `optional`."""
    fields = {"id": STRING, "object": {"const": object_type}, **properties}
    return {
        "type": "object",
        "properties": fields,
        "required": [name for name in fields if name not in optional],
    }


def list_of(name: str) -> Schema:
    """The reference's list object."""
    return {
        "type": "object",
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": ref(name)},
            "has_more": BOOLEAN,
            "url": STRING,
            "next_page_url": nullable(STRING),
        },
        "required": ["object", "data", "has_more", "url", "next_page_url"],
    }


# An error as the envelope's `error` holds it (a bulk item's, an import row's).
ERROR_DETAIL: Schema = {
    "type": "object",
    "properties": {"code": STRING, "message": STRING, "request_id": STRING},
    "required": ["code", "message"],
}
# What import and export jobs share (shared/services/jobs.py job_object).
JOB: Schema = {
    "object_type": STRING,
    "format": {"enum": ["ndjson", "csv"]},
    "status": STRING,
    "progress": {
        "type": "object",
        "properties": {"done": INTEGER, "failed": INTEGER, "total": nullable(INTEGER)},
        "required": ["done", "failed", "total"],
    },
    "created_at": TIMESTAMP,
    "started_at": nullable(TIMESTAMP),
    "finished_at": nullable(TIMESTAMP),
    "expires_at": TIMESTAMP,
    "error": nullable(ERROR_DETAIL),
}

OBJECTS: dict[str, Schema] = {
    "User": obj(
        "user",
        {
            "attributes": ATTRIBUTES,
            "created_at": TIMESTAMP,
            "groups": expandable_list("Group"),
            "memberships": expandable_list("GroupMembership"),
        },
    ),
    "Group": obj(
        "group",
        {
            "attributes": ATTRIBUTES,
            "created_at": TIMESTAMP,
            "memberships": expandable_list("GroupMembership"),
            "users": expandable_list("User"),
        },
    ),
    "GroupMembership": obj(
        "group_membership",
        {
            "attributes": ATTRIBUTES,
            "created_at": TIMESTAMP,
            "group": expandable("Group"),
            "group_id": STRING,
            "user": expandable("User"),
            "user_id": STRING,
        },
    ),
    "Event": obj(
        "event",
        {
            "attributes": ATTRIBUTES,
            "created_at": TIMESTAMP,
            "group": expandable("Group"),
            "group_id": nullable(STRING),
            "name": STRING,
            "time": TIMESTAMP,
            "user": expandable("User"),
            "user_id": nullable(STRING),
        },
    ),
    "AttributeDefinition": obj(
        "attribute_definition",
        {
            "created_at": TIMESTAMP,
            "data_type": STRING,
            "description": nullable(STRING),
            "display_name": nullable(STRING),
            "name": STRING,
            "scope": {"enum": ["event", "group", "group_membership", "user"]},
        },
    ),
    "EventDefinition": obj(
        "event_definition",
        {
            "created_at": TIMESTAMP,
            "description": nullable(STRING),
            "display_name": nullable(STRING),
            "name": STRING,
        },
    ),
    "Segment": obj(
        "segment",
        {
            "name": STRING,
            "condition": {"type": "object"},
            "created_at": TIMESTAMP,
            "updated_at": nullable(TIMESTAMP),
        },
    ),
    "Content": obj(
        "content",
        {
            "created_at": TIMESTAMP,
            "draft_version_id": nullable(STRING),
            "draft_version": expandable("ContentVersion"),
            "name": STRING,
            "published_version_id": nullable(STRING),
            "published_version": expandable("ContentVersion"),
            "type": {"enum": ["checklist", "flow", "launcher"]},
            "archived_at": nullable(TIMESTAMP),
        },
    ),
    "ContentVersion": obj(
        "content_version",
        {
            "created_at": TIMESTAMP,
            "description": nullable(STRING),
            "edited_at": nullable(TIMESTAMP),
            "number": INTEGER,
            "questions": expandable_list("Question"),
            "tasks": expandable_list("ChecklistTask"),
        },
    ),
    "Question": obj(
        "question",
        {
            "cvid": STRING,
            "name": STRING,
            "type": STRING,
            "choices": nullable({"type": "array", "items": STRING}),
        },
    ),
    "ChecklistTask": obj("checklist_task", {"cvid": STRING, "name": STRING}),
    "ContentSession": obj(
        "content_session",
        {
            "answers": expandable_list("ContentSessionAnswer"),
            "completed_at": nullable(TIMESTAMP),
            "completed": BOOLEAN,
            "content_id": STRING,
            "content": expandable("Content"),
            "created_at": TIMESTAMP,
            "group_id": nullable(STRING),
            "group": expandable("Group"),
            "is_preview": BOOLEAN,
            "last_activity_at": nullable(TIMESTAMP),
            "launcher_activated": BOOLEAN,
            "progress": STRING,
            "user_id": STRING,
            "user": expandable("User"),
            "version_id": STRING,
            "version": expandable("ContentVersion"),
            "status": {"enum": ["active", "completed", "ended"]},
            "ended_at": nullable(TIMESTAMP),
            "duration": nullable(INTEGER),
        },
    ),
    "ContentSessionAnswer": obj(
        "content_session_answer",
        {
            "answer_type": STRING,
            "answer_value": {},
            "created_at": TIMESTAMP,
            "question_cvid": STRING,
            "question_name": STRING,
        },
    ),
    "WebhookSubscription": obj(
        "webhook_subscription",
        {
            "api_version": STRING,
            "created_at": TIMESTAMP,
            "disabled": BOOLEAN,
            "topics": {"type": "array", "items": STRING},
            "url": STRING,
            "standard_webhooks": BOOLEAN,
            "disabled_reason": nullable(STRING),
            "disabled_at": nullable(TIMESTAMP),
            "circuit": nullable(
                {
                    "type": "object",
                    "properties": {
                        "state": {"enum": ["open", "draining"]},
                        "opened_at": TIMESTAMP,
                        "next_probe_at": TIMESTAMP,
                        "failed_probes": INTEGER,
                    },
                    "required": ["state", "opened_at", "next_probe_at", "failed_probes"],
                }
            ),
        },
    ),
    "WebhookDelivery": obj(
        "webhook_delivery",
        {
            "attempts": {"type": "array", "items": {"type": "object"}},
            "dropped_attempts": INTEGER,
            "created_at": TIMESTAMP,
            "notification_id": STRING,
            "notification": nullable({"type": "object"}),
            "notification_stored": BOOLEAN,
            "status": STRING,
            "topic": STRING,
            "updated_at": nullable(TIMESTAMP),
            "webhook_subscription_id": STRING,
        },
    ),
    "WebhookRecovery": {
        "type": "object",
        "properties": {
            "object": {"const": "webhook_recovery"},
            "webhook_subscription_id": STRING,
            "since": TIMESTAMP,
            "resent_count": INTEGER,
            "has_more": BOOLEAN,
        },
        "required": ["object", "webhook_subscription_id", "since", "resent_count", "has_more"],
    },
    "ImportJob": obj(
        "import",
        {**JOB, "upload_url": nullable(STRING), "upload_url_expires_at": nullable(TIMESTAMP)},
    ),
    "ExportJob": obj(
        "export",
        {
            **JOB,
            "condition": nullable(ATTRIBUTES),
            "download_url": nullable(STRING),
            "download_url_expires_at": nullable(TIMESTAMP),
        },
    ),
    "ImportRowError": obj(
        "import_row_error",
        {"row": INTEGER, "object_id": nullable(STRING), "error": ERROR_DETAIL},
    ),
    "BulkUserResults": {
        "type": "object",
        "properties": {
            "object": {"const": "bulk_result"},
            "data": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": INTEGER,
                        "id": nullable(STRING),
                        "status": INTEGER,
                        "error": ERROR_DETAIL,
                    },
                    "required": ["index", "id", "status"],
                },
            },
            "succeeded": INTEGER,
            "failed": INTEGER,
            "not_processed": INTEGER,
        },
        "required": ["object", "data", "succeeded", "failed", "not_processed"],
    },
    "Deleted": {
        "type": "object",
        "properties": {
            # A group membership that did not exist is deleted all the same: its id is null.
            "id": nullable(STRING),
            "object": STRING,
            "deleted": {"const": True},
        },
        "required": ["id", "object", "deleted"],
    },
    "Error": {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": STRING,
                    "message": STRING,
                    "doc_url": STRING,
                    "request_id": STRING,
                },
                "required": ["code", "message"],
            }
        },
        "required": ["error"],
    },
}

WITH_SECRET: Schema = {
    "allOf": [
        ref("WebhookSubscription"),
        {"type": "object", "properties": {"secret": STRING}, "required": ["secret"]},
    ]
}


def response_schemas() -> dict[str, Schema]:
    """Every object, the lists routes return, and the subscription with its secret, by
    their shared/http/returns.py names."""
    from shared.http import returns

    lists = {
        name: list_of(name.removesuffix("List")) for name in vars(returns) if name.endswith("List")
    }
    return {**OBJECTS, **lists, "WebhookSubscriptionWithSecret": WITH_SECRET}
