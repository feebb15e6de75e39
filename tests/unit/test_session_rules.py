"""Session rules: progress, answers, lifecycle and the built-in events each step tracks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain import sessions as rules
from shared.domain.content import ContentType, Question, QuestionType, Task
from shared.domain.errors import InvalidInput
from shared.domain.sessions import AnswerType, Session, Status

START = "2026-11-29T12:00:00.000+00:00"
NOW = "2026-11-29T12:01:30.500+00:00"
TASKS = (Task("t1", "c1", "Invite"), Task("t2", "c2", "Connect"))


def session(content_type: ContentType = ContentType.FLOW, **changes: Any) -> Session:
    base = Session(
        id="s1",
        content_id="content",
        content_type=content_type,
        version_id="v1",
        user_id="u1",
        group_id="g1",
        is_preview=False,
        created_at=START,
        last_activity_at=START,
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (1, "1"),
        ("0.4", "0.4"),
        (0.4, "0.4"),
        ("1.0", "1"),
        ("0.50", "0.5"),
        (1 / 3, "0.3333"),
        ("0.99999", "0.9999"),  # rounded down: only 1 means done
        ("1e-1", "0.1"),
        (0.0001, "0.0001"),
    ],
)
def test_progress_is_a_decimal_string_kept_to_four_places(value: Any, expected: str) -> None:
    assert rules.progress_text(rules.parse_progress(value)) == expected


@pytest.mark.parametrize(
    "value", [-0.1, 1.0001, "1.1", "abc", "", None, True, [0.5], "NaN", "Infinity", float("nan")]
)
def test_progress_outside_0_to_1_or_not_a_number_is_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match=r"Invalid `progress`: a number or decimal string"):
        rules.parse_progress(value)


@given(st.lists(st.decimals(min_value=0, max_value=1, places=4), max_size=12))
def test_progress_never_decreases_and_a_refused_step_changes_nothing(
    steps: list[Decimal],
) -> None:
    current = session()
    for value in steps:
        before = current
        try:
            current = rules.record_progress(current, value, NOW).session
        except InvalidInput as error:
            assert value < before.progress
            assert "never decreases" in str(error)
            assert current == before
        else:
            assert value >= before.progress and current.progress == value
    assert current.progress == max([Decimal(0), *steps])


@pytest.mark.parametrize(
    ("kind", "value", "answer_type", "stored"),
    [
        (QuestionType.NPS, 0, AnswerType.NUMBER, "0"),
        (QuestionType.NPS, 10, AnswerType.NUMBER, "10"),
        (QuestionType.NPS, "7", AnswerType.NUMBER, "7"),
        (QuestionType.STARS, 1, AnswerType.NUMBER, "1"),
        (QuestionType.STARS, 5, AnswerType.NUMBER, "5"),
        (QuestionType.TEXT, "I really like your app!", AnswerType.TEXT, "I really like your app!"),
        (QuestionType.MULTILINE_TEXT, "Line 1\nLine 2", AnswerType.TEXT, "Line 1\nLine 2"),
        (QuestionType.MULTIPLE_CHOICE, "Blue", AnswerType.LIST, ("Blue",)),
        (QuestionType.MULTIPLE_CHOICE, ["Red", "Blue"], AnswerType.LIST, ("Red", "Blue")),
    ],
)
def test_answers_accepted_by_question_type(
    kind: QuestionType, value: Any, answer_type: AnswerType, stored: Any
) -> None:
    choices = ("Red", "Blue") if kind is QuestionType.MULTIPLE_CHOICE else None
    answer = rules.parse_answer(Question("q", "cv", "Q", kind, choices), value)
    assert (answer.type, answer.value) == (answer_type, stored)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (QuestionType.NPS, 11, "a whole number from 0 to 10"),
        (QuestionType.NPS, -1, "a whole number from 0 to 10"),
        (QuestionType.NPS, 7.5, "a whole number from 0 to 10"),
        (QuestionType.NPS, True, "a whole number from 0 to 10"),
        (QuestionType.NPS, "٣", "a whole number from 0 to 10"),  # a digit, not ASCII
        (QuestionType.STARS, 0, "a whole number from 1 to 5"),
        (QuestionType.STARS, 6, "a whole number from 1 to 5"),
        (QuestionType.TEXT, "", "non-empty text"),
        (QuestionType.TEXT, "   ", "non-empty text"),
        (QuestionType.TEXT, 42, "non-empty text"),
        (QuestionType.TEXT, "two\nlines", "takes one line"),
        (QuestionType.MULTILINE_TEXT, "é" * 4097, "8,192 bytes"),
        (QuestionType.MULTIPLE_CHOICE, "Green", "'Green' is not one of the question's choices"),
        (QuestionType.MULTIPLE_CHOICE, [], "a list of distinct choices"),
        (QuestionType.MULTIPLE_CHOICE, ["Red", "Red"], "a list of distinct choices"),
        (QuestionType.MULTIPLE_CHOICE, [1], "a list of distinct choices"),
    ],
)
def test_answers_refused_by_question_type(kind: QuestionType, value: Any, message: str) -> None:
    choices = ("Red", "Blue") if kind is QuestionType.MULTIPLE_CHOICE else None
    with pytest.raises(InvalidInput, match=f"Invalid `answer_value`: .*{message}"):
        rules.parse_answer(Question("q", "cv", "Q", kind, choices), value)


def test_an_answer_tracks_question_answered_with_the_session_ids() -> None:
    question = Question("q", "cv1", "Feedback", QuestionType.TEXT)
    answer = rules.parse_answer(question, "Great")
    outcome = rules.record_answer(session(), answer, "a1", NOW)
    assert outcome.answer == rules.RecordedAnswer(
        "a1", "s1", "cv1", "Feedback", AnswerType.TEXT, "Great", NOW
    )
    (event,) = outcome.events
    assert event.name == "question_answered"
    assert event.attributes == {
        "content_id": "content",
        "content_version_id": "v1",
        "content_session_id": "s1",
        "content_type": "flow",
        "question_cvid": "cv1",
        "question_name": "Feedback",
        "answer_type": "text",
        "answer_value": "Great",
    }
    assert event.types["content_id"] == "content"
    assert event.types["content_version_id"] == "content_version"
    assert event.types["content_session_id"] == "content_session"
    assert outcome.session.last_activity_at == NOW and not outcome.releases_lock


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.ENDED])
def test_a_finished_session_takes_no_more_steps(status: Status) -> None:
    finished = session(ContentType.LAUNCHER, status=status)
    question = Question("q", "cv", "Q", QuestionType.NPS)
    steps: list[Callable[[], object]] = [
        lambda: rules.record_progress(finished, Decimal(1), NOW),
        lambda: rules.record_answer(finished, rules.parse_answer(question, 3), "a", NOW),
        lambda: rules.complete_task(finished, TASKS, TASKS[0], NOW),
        lambda: rules.activate_launcher(finished, NOW),
    ]
    for step in steps:
        with pytest.raises(InvalidInput, match=f"session 's1' is {status.value} and takes no"):
            step()


def test_completing_sets_progress_to_1_ends_the_session_and_lets_go_of_the_lock() -> None:
    outcome = rules.complete(session(progress=Decimal("0.4")), (), NOW)
    after = outcome.session
    assert (after.status, after.completed, after.progress) == (Status.COMPLETED, True, Decimal(1))
    assert (after.completed_at, after.ended_at, after.duration) == (NOW, NOW, 90)
    assert [e.name for e in outcome.events] == ["flow_completed"] and outcome.releases_lock
    again = rules.complete(after, (), NOW)
    assert not again.changed and again.session == after


def test_ending_tracks_flow_ended_once_and_a_completed_session_stays_completed() -> None:
    ended = rules.end(session(), NOW)
    assert (ended.session.status, ended.session.completed, ended.session.completed_at) == (
        Status.ENDED,
        False,
        None,
    )
    assert [e.name for e in ended.events] == ["flow_ended"] and ended.releases_lock
    assert not rules.end(ended.session, NOW).changed
    completed = session(status=Status.COMPLETED, ended_at=NOW, completed_at=NOW)
    assert not rules.end(completed, NOW).changed
    with pytest.raises(InvalidInput, match="is ended and takes no more completion"):
        rules.complete(ended.session, (), NOW)


def test_a_checklist_completes_with_its_last_task_and_only_then() -> None:
    checklist = session(ContentType.CHECKLIST)
    with pytest.raises(InvalidInput, match="completes when all its tasks do; 2 left"):
        rules.complete(checklist, TASKS, NOW)
    first = rules.complete_task(checklist, TASKS, TASKS[0], NOW)
    assert (first.session.progress, first.session.status) == (Decimal("0.5"), Status.ACTIVE)
    assert [e.name for e in first.events] == ["checklist_task_completed"]
    assert first.events[0].attributes["checklist_task_cvid"] == "c1"
    assert first.events[0].types["checklist_task_cvid"] == "checklist_task"
    again = rules.complete_task(first.session, TASKS, TASKS[0], NOW)
    assert not again.changed
    last = rules.complete_task(first.session, TASKS, TASKS[1], NOW)
    assert (last.session.status, last.session.progress) == (Status.COMPLETED, Decimal(1))
    assert [e.name for e in last.events] == ["checklist_task_completed", "flow_completed"]
    assert last.releases_lock


def test_task_progress_never_goes_below_what_was_recorded() -> None:
    ahead = session(ContentType.CHECKLIST, progress=Decimal("0.9"))
    assert rules.complete_task(ahead, TASKS, TASKS[0], NOW).session.progress == Decimal("0.9")


def test_only_launchers_are_activated_and_only_once() -> None:
    with pytest.raises(InvalidInput, match="only launcher sessions are activated"):
        rules.activate_launcher(session(ContentType.FLOW), NOW)
    activated = rules.activate_launcher(session(ContentType.LAUNCHER), NOW)
    assert activated.session.launcher_activated
    assert [e.name for e in activated.events] == ["launcher_activated"]
    assert not rules.activate_launcher(activated.session, NOW).changed


def test_flow_started_carries_the_ids() -> None:
    event = rules.started(session())
    assert event.name == "flow_started"
    assert set(event.attributes) == {
        "content_id",
        "content_version_id",
        "content_session_id",
        "content_type",
    }


def test_duration_is_null_while_active() -> None:
    assert session().duration is None
