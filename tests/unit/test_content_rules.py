"""Content authoring rules: drafts, cvids that survive versions, publishing, archiving."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain import content as rules
from shared.domain.content import (
    Content,
    ContentType,
    DraftEdit,
    Question,
    QuestionDraft,
    QuestionType,
    Task,
    TaskDraft,
    Version,
)
from shared.domain.errors import InvalidInput

NOW = "2026-11-29T12:00:00.000+00:00"
LATER = "2026-11-29T13:00:00.000+00:00"


def counter(prefix: str = "id") -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"{prefix}{next(numbers)}"


def flow(new_id: Callable[[], str] | None = None) -> tuple[Content, Version]:
    return rules.new_content("Onboarding", ContentType.FLOW, new_id or counter(), NOW)


def test_new_content_starts_with_an_empty_draft_numbered_1() -> None:
    content, draft = flow()
    assert content == Content("id1", "Onboarding", ContentType.FLOW, NOW, "id2")
    assert draft == Version("id2", "id1", 1, created_at=NOW, edited_at=NOW)
    assert content.published_version_id is None and not draft.published


@pytest.mark.parametrize(
    ("name", "problem"), [("", "must not be empty"), ("é" * 513, "at most 1,024 bytes")]
)
def test_a_content_name_is_1_to_1024_bytes(name: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=f"Invalid `name`: {problem}"):
        rules.new_content(name, ContentType.FLOW, counter(), NOW)


def test_a_new_question_gets_an_id_and_a_cvid_and_a_kept_one_keeps_both() -> None:
    kept = Question("q1", "c1", "Old name", QuestionType.TEXT)
    planned = rules.plan_questions(
        ContentType.FLOW,
        [kept],
        [
            QuestionDraft("New", QuestionType.NPS),
            QuestionDraft("Renamed", QuestionType.MULTILINE_TEXT, cvid="c1"),
        ],
        counter("n"),
    )
    assert planned == (
        Question("n1", "n2", "New", QuestionType.NPS),
        Question("q1", "c1", "Renamed", QuestionType.MULTILINE_TEXT),
    )


@pytest.mark.parametrize(
    ("drafts", "message"),
    [
        ([QuestionDraft("x", QuestionType.TEXT, cvid="nope")], r"`questions\[0\].cvid`.*'nope'"),
        (
            [
                QuestionDraft("x", QuestionType.TEXT, cvid="c1"),
                QuestionDraft("y", QuestionType.TEXT, cvid="c1"),
            ],
            r"`questions\[1\].cvid`: 'c1' is listed twice",
        ),
        ([QuestionDraft("", QuestionType.TEXT)], r"`questions\[0\].name`: must not be empty"),
        (
            [QuestionDraft("x", QuestionType.MULTIPLE_CHOICE)],
            r"`questions\[0\].choices`: a multiple_choice question needs choices",
        ),
        (
            [QuestionDraft("x", QuestionType.MULTIPLE_CHOICE, choices=("a", "a"))],
            "choices must be distinct",
        ),
        (
            [QuestionDraft("x", QuestionType.MULTIPLE_CHOICE, choices=("a", ""))],
            r"`questions\[0\].choices\[1\]`: must not be empty",
        ),
        (
            [
                QuestionDraft(
                    "x", QuestionType.MULTIPLE_CHOICE, choices=tuple("x" * i for i in range(1, 52))
                )
            ],
            "at most 50 choices",
        ),
        (
            [QuestionDraft("x", QuestionType.NPS, choices=("a",))],
            "only multiple_choice questions have choices",
        ),
        ([QuestionDraft(f"q{i}", QuestionType.TEXT) for i in range(101)], "at most 100 questions"),
    ],
)
def test_questions_that_are_refused(drafts: list[QuestionDraft], message: str) -> None:
    current = [Question("q1", "c1", "Kept", QuestionType.TEXT)]
    with pytest.raises(InvalidInput, match=message):
        rules.plan_questions(ContentType.FLOW, current, drafts, counter())


def test_only_flows_have_questions_and_only_checklists_have_tasks() -> None:
    with pytest.raises(InvalidInput, match="only flows have questions, not checklists"):
        rules.plan_questions(
            ContentType.CHECKLIST, [], [QuestionDraft("x", QuestionType.TEXT)], counter()
        )
    with pytest.raises(InvalidInput, match="only checklists have tasks, not launchers"):
        rules.plan_tasks(ContentType.LAUNCHER, [], [TaskDraft("x")], counter())
    assert rules.plan_tasks(ContentType.FLOW, [], [], counter()) == ()


def test_tasks_follow_the_same_cvid_rules() -> None:
    kept = Task("t1", "c1", "Invite a teammate")
    assert rules.plan_tasks(
        ContentType.CHECKLIST, [kept], [TaskDraft("Renamed", "c1"), TaskDraft("New")], counter("n")
    ) == (Task("t1", "c1", "Renamed"), Task("n1", "n2", "New"))
    with pytest.raises(InvalidInput, match=r"`tasks\[0\].cvid`: the draft has no task 'x'"):
        rules.plan_tasks(ContentType.CHECKLIST, [kept], [TaskDraft("a", "x")], counter())


def test_editing_an_unpublished_draft_changes_it_in_place() -> None:
    content, draft = flow()
    edited = rules.edit_draft(
        content,
        draft,
        DraftEdit(description="First", questions=(QuestionDraft("How?", QuestionType.TEXT),)),
        counter("n"),
        LATER,
    )
    assert (edited.id, edited.number, edited.created_at, edited.edited_at) == (
        draft.id,
        1,
        NOW,
        LATER,
    )
    assert edited.description == "First"
    assert [q.name for q in edited.questions] == ["How?"]


def test_a_field_left_out_of_an_edit_is_kept_and_a_null_description_clears_it() -> None:
    content, draft = flow()
    draft = replace(
        draft, description="Keep me", questions=(Question("q", "c", "Q", QuestionType.NPS),)
    )
    kept = rules.edit_draft(content, draft, DraftEdit(), counter(), LATER)
    assert (kept.description, kept.questions) == ("Keep me", draft.questions)
    cleared = rules.edit_draft(content, draft, DraftEdit(description=None), counter(), LATER)
    assert cleared.description is None


def test_editing_a_published_draft_starts_the_next_version_keeping_cvids() -> None:
    content = Content("c", "Tour", ContentType.FLOW, NOW, "v1", "v1", latest_number=1)
    published = Version(
        "v1",
        "c",
        1,
        NOW,
        NOW,
        description="Launch",
        published_at=NOW,
        questions=(Question("q1", "cv1", "Rate us", QuestionType.STARS),),
    )
    edited = rules.edit_draft(content, published, DraftEdit(), counter("n"), LATER)
    assert (edited.id, edited.number, edited.created_at, edited.published_at) == (
        "n2",
        2,
        LATER,
        None,
    )
    assert edited.description == "Launch"
    assert [(q.id, q.cvid, q.name) for q in edited.questions] == [("n1", "cv1", "Rate us")]


question_edits = st.lists(st.tuples(st.booleans(), st.sampled_from(list(QuestionType))), max_size=8)


@given(first=question_edits, second=question_edits)
def test_cvids_survive_every_later_version_and_ids_never_repeat(
    first: list[tuple[bool, QuestionType]], second: list[tuple[bool, QuestionType]]
) -> None:
    """Whatever is edited, a question kept by cvid keeps its cvid in the next version, and
    no id is used twice."""
    new_id = counter()
    content, draft = rules.new_content("F", ContentType.FLOW, new_id, NOW)

    def drafts(
        plan: list[tuple[bool, QuestionType]], current: Version
    ) -> tuple[QuestionDraft, ...]:
        kept = iter(current.questions)
        result = []
        for keep, kind in plan:
            old = next(kept, None) if keep else None
            choices = ("a", "b") if kind is QuestionType.MULTIPLE_CHOICE else None
            result.append(QuestionDraft("q", kind, old.cvid if old else None, choices))
        return tuple(result)

    v1 = rules.edit_draft(content, draft, DraftEdit(questions=drafts(first, draft)), new_id, NOW)
    published = rules.publish(content, v1, None, NOW)
    assert published is not None
    content, v1 = published
    v2 = rules.edit_draft(content, v1, DraftEdit(questions=drafts(second, v1)), new_id, LATER)
    assert v2.number == 2 and v2.id != v1.id
    old_cvids = {q.cvid for q in v1.questions}
    kept_cvids = [d.cvid for d in drafts(second, v1) if d.cvid]
    assert set(kept_cvids) <= {q.cvid for q in v2.questions}
    added = {q.cvid for q in v2.questions} - set(kept_cvids)
    assert added.isdisjoint(old_cvids)
    ids = [q.id for q in (*v1.questions, *v2.questions)] + [v1.id, v2.id, content.id]
    assert len(ids) == len(set(ids))


def test_publishing_freezes_the_draft_and_publishing_again_changes_nothing() -> None:
    content, draft = flow()
    published = rules.publish(content, draft, "Launch", LATER)
    assert published is not None
    after, frozen = published
    assert after.published_version_id == draft.id == after.draft_version_id
    assert (frozen.published_at, frozen.edited_at, frozen.description) == (LATER, LATER, "Launch")
    assert rules.publish(after, frozen, None, LATER) is None
    assert rules.publish(after, frozen, "Launch", LATER) is None
    with pytest.raises(InvalidInput, match="version 1 is published and never changes"):
        rules.publish(after, frozen, "Another", LATER)


def test_archived_content_takes_no_edits_until_unarchived() -> None:
    content, draft = flow()
    archived = replace(content, archived_at=LATER)
    for step in (
        lambda: rules.rename(archived, "New"),
        lambda: rules.edit_draft(archived, draft, DraftEdit(), counter(), LATER),
        lambda: rules.publish(archived, draft, None, LATER),
    ):
        with pytest.raises(InvalidInput, match="is archived; unarchive it first"):
            step()
    assert rules.rename(content, "New").name == "New"
