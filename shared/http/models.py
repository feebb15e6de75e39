"""Request bodies, validated with pydantic; a 400 names the first bad field."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    model_validator,
)

from shared.domain import limits
from shared.domain.content import ContentType, DraftEdit, QuestionDraft, QuestionType, TaskDraft
from shared.domain.limits import MAX_BULK_USERS, MAX_GROUPS_PER_UPSERT
from shared.domain.transfers import Format, ObjectType


def _id_text(value: Any) -> Any:
    # Many back ends keep numeric ids; accept them as their decimal string.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _valid_id(value: str) -> str:
    problem = limits.id_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _segment_name(value: str) -> str:
    if not limits.is_unicode(value) or limits.utf8_size(value) > limits.MAX_SEGMENT_NAME_BYTES:
        raise ValueError(
            f"at most {limits.MAX_SEGMENT_NAME_BYTES:,} bytes of valid Unicode text (UTF-8)"
        )
    return value


def _valid_user_id(value: str) -> str:
    problem = limits.user_id_problem(value)
    if problem:
        raise ValueError(problem)
    return value


ObjectId = Annotated[str, BeforeValidator(_id_text), AfterValidator(_valid_id)]
# The id of a user an upsert may create: an id, and not one the paths reserve.
NewUserId = Annotated[str, BeforeValidator(_id_text), AfterValidator(_valid_user_id)]
SegmentName = Annotated[str, Field(min_length=1), AfterValidator(_segment_name)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupBody(Body):
    id: ObjectId
    attributes: dict[str, Any] | None = None


class MembershipBody(Body):
    attributes: dict[str, Any] | None = None
    group: GroupBody


class UpsertUserBody(Body):
    id: NewUserId
    attributes: dict[str, Any] | None = None
    groups: Annotated[list[GroupBody], Field(max_length=MAX_GROUPS_PER_UPSERT)] | None = None
    memberships: Annotated[list[MembershipBody], Field(max_length=MAX_GROUPS_PER_UPSERT)] | None = (
        None
    )
    prune_memberships: bool = False

    @model_validator(mode="after")
    def _one_of_groups_and_memberships(self) -> UpsertUserBody:
        if self.groups is not None and self.memberships is not None:
            raise ValueError("only one of `groups` and `memberships` can be set")
        return self

    def membership_list(self) -> list[MembershipBody]:
        """`groups` is shorthand for memberships without membership attributes."""
        if self.memberships is not None:
            return self.memberships
        return [MembershipBody(group=group) for group in self.groups or []]


class BulkUsersBody(Body):
    """POST /users/bulk: each item is a POST /users body, checked on its own (a bad item is
    that item's error, not the request's)."""

    users: Annotated[list[Any], Field(min_length=1, max_length=MAX_BULK_USERS)]


class UpsertGroupBody(Body):
    id: ObjectId
    attributes: dict[str, Any] | None = None


class TrackEventBody(Body):
    user_id: ObjectId | None = None
    group_id: ObjectId | None = None
    name: Annotated[str, Field(min_length=1, max_length=255)]
    attributes: dict[str, Any] | None = None
    time: str | None = None

    @model_validator(mode="after")
    def _user_or_group(self) -> TrackEventBody:
        if self.user_id is None and self.group_id is None:
            raise ValueError("one (or both) of `user_id` and `group_id` is required")
        return self


class SegmentBody(Body):
    name: SegmentName
    condition: dict[str, Any]


class SegmentPatchBody(Body):
    name: SegmentName | None = None
    condition: dict[str, Any] | None = None


# Content (an extension: authoring). Sizes are checked by the content rules, whose messages
# name the field and the limit.


class ContentBody(Body):
    name: StrictStr
    type: ContentType


class ContentPatchBody(Body):
    name: StrictStr | None = None
    type: ContentType | None = None  # fixed at creation: only the same type is accepted


class QuestionBody(Body):
    cvid: StrictStr | None = None
    name: StrictStr
    type: QuestionType
    choices: list[StrictStr] | None = None


class TaskBody(Body):
    cvid: StrictStr | None = None
    name: StrictStr


class DraftBody(Body):
    """An edit of the draft: each field given replaces the draft's (`description: null`
    clears it; `questions` and `tasks` list every question or task, in order)."""

    description: StrictStr | None = None
    questions: list[QuestionBody] | None = None
    tasks: list[TaskBody] | None = None

    def edit(self) -> DraftEdit:
        given = self.model_fields_set
        return DraftEdit(
            **({"description": self.description} if "description" in given else {}),
            questions=None
            if self.questions is None
            else tuple(
                QuestionDraft(
                    q.name, q.type, q.cvid, tuple(q.choices) if q.choices is not None else None
                )
                for q in self.questions
            ),
            tasks=None
            if self.tasks is None
            else tuple(TaskDraft(t.name, t.cvid) for t in self.tasks),
        )


class PublishBody(Body):
    description: StrictStr | None = None


# Content sessions (an extension: the session runtime).


class StartSessionBody(Body):
    content_id: ObjectId
    user_id: ObjectId
    group_id: ObjectId | None = None
    is_preview: StrictBool = False


class ProgressBody(Body):
    progress: Any  # a number or decimal string; the session rules say what is accepted


class AnswerBody(Body):
    question_cvid: StrictStr
    answer_value: Any  # checked against the question by the session rules


# Import and export jobs (an extension).


class ImportBody(Body):
    object_type: ObjectType  # users or groups (the job says so otherwise)
    format: Format = Format.NDJSON


class ExportBody(Body):
    object_type: ObjectType
    format: Format = Format.NDJSON
    condition: dict[str, Any] | None = None


# Webhook subscriptions: a rotation's grace period, one day by default, at most a week.
DEFAULT_GRACE_SECONDS = 86_400
MAX_GRACE_SECONDS = 7 * 86_400


class WebhookSubscriptionBody(Body):
    # Types are checked by the webhook rules (topics, addresses), whose errors name the field.
    api_version: Any = None
    topics: Any
    url: Any
    standard_webhooks: StrictBool = False


class WebhookSubscriptionPatchBody(Body):
    api_version: Any = None
    topics: Any = None
    url: Any = None
    disabled: StrictBool | None = None
    standard_webhooks: StrictBool | None = None


class RotateSecretBody(Body):
    grace_period_seconds: Annotated[int, Field(strict=True, ge=0, le=MAX_GRACE_SECONDS)] = (
        DEFAULT_GRACE_SECONDS
    )


class RecoverBody(Body):
    since: StrictStr
