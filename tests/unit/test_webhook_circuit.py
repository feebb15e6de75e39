"""A receiver that keeps failing costs only itself: its circuit opens, its notifications wait
in a backlog of their own, one probe at a time tries it, and its backlog drains once it
answers (moto for the table, the queues and the bucket; POSTs are recorded outcomes)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared.clock import now_iso
from shared.services import delivery, probing
from shared.services import subscriptions as subscriptions_service
from shared.store import backlog, deliveries, subscriptions
from shared.webhooks import queue, sender
from shared.webhooks.backoff import DELIVERY_WINDOW
from shared.webhooks.messages import DeliveryMessage
from shared.webhooks.sender import Outcome
from tests.unit.webhooks_support import (
    DOWN,
    HUNG,
    OK,
    REFUSED,
    FakeReceiver,
    message_for,
    queued,
    subscribe,
)

LATER = time.time() + 10 * 24 * 3600  # a probe run far enough ahead that every probe is due


@pytest.fixture
def postponed(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the shared path asks SQS for (no real receipt handles here)."""
    delays: list[float] = []
    monkeypatch.setattr(queue, "postpone", lambda handle, delay: delays.append(delay))
    return delays


@pytest.fixture(autouse=True)
def _pipeline(queues: dict[str, str], postponed: list[float]) -> None:
    """Every test here runs with the queues and the bucket, and no real postponement."""


def deliver(message: DeliveryMessage, attempt: int = 1) -> str:
    try:
        return delivery.deliver(message.to_json(), "handle", attempt)
    except delivery.RetryLater:
        return "retry later"


def held(environment: str, subscription_id: str) -> list[DeliveryMessage]:
    """Every message in the subscription's backlog, oldest first."""
    return [m for e in backlog.oldest(environment, subscription_id, limit=100) for m in e.messages]


def notification(environment: str, subscription_id: str, n: int, **extra: Any) -> DeliveryMessage:
    return message_for(environment, subscription_id, notification_id=f"n{n}", **extra)


def open_by_failures(
    environment: str, subscription_id: str, monkeypatch: pytest.MonkeyPatch
) -> list[DeliveryMessage]:
    """Three refused attempts in a row: the third message goes to the backlog."""
    monkeypatch.setattr(sender, "post", FakeReceiver(REFUSED, REFUSED, REFUSED))
    messages = [notification(environment, subscription_id, n) for n in range(3)]
    assert [deliver(m) for m in messages] == ["retry later", "retry later", "backlogged"]
    return messages


def test_three_failures_in_a_row_open_the_circuit_and_later_messages_wait_without_a_post(
    environment: str,
    postponed: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    third = open_by_failures(environment, subscription.id, monkeypatch)[2]
    assert len(postponed) == 2  # the first two wait on the shared queue, with backoff

    opened = subscriptions.get(environment, subscription.id)
    assert opened is not None and opened.circuit is not None
    assert opened.circuit.state == "open"
    assert opened.circuit.next_probe_at > now_iso()

    untouched = FakeReceiver()  # any POST would fail the test: it has no answers
    monkeypatch.setattr(sender, "post", untouched)
    fourth = notification(environment, subscription.id, 4)
    assert deliver(fourth) == "backlogged"
    assert untouched.sent == []
    assert held(environment, subscription.id) == [
        third,
        fourth,
    ]
    logged_third = deliveries.get_delivery(environment, subscription.id, third.delivery_id)
    assert logged_third is not None and logged_third.status == "backlogged"
    assert [a["next_attempt_at"] for a in logged_third.attempts] == [None]
    # Never attempted: the log has it once its first attempt is made.
    assert deliveries.get_delivery(environment, subscription.id, fourth.delivery_id) is None


def test_a_success_between_failures_keeps_the_circuit_closed(
    environment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    monkeypatch.setattr(sender, "post", FakeReceiver(DOWN, DOWN, OK, DOWN, DOWN))
    outcomes = [deliver(notification(environment, subscription.id, n)) for n in range(5)]
    assert outcomes == ["retry later", "retry later", "succeeded", "retry later", "retry later"]
    current = subscriptions.get(environment, subscription.id)
    assert current is not None and current.circuit is None
    assert current.consecutive_failures == 2


def test_a_timeout_opens_the_circuit_at_once(
    environment: str,
    postponed: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    monkeypatch.setattr(sender, "post", FakeReceiver(HUNG))
    assert deliver(notification(environment, subscription.id, 1)) == "backlogged"
    assert postponed == []
    current = subscriptions.get(environment, subscription.id)
    assert current is not None and current.circuit is not None


def test_one_slow_answer_trips_nothing(
    environment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)

    def slow_then_ok(url: str, body: bytes, headers: dict[str, str], **options: Any) -> Outcome:
        assert options["slow_after"] == delivery.SLOW_AFTER_SECONDS
        options["on_slow"]()  # as the sender's timer would, while the POST still runs
        return OK

    monkeypatch.setattr(sender, "post", slow_then_ok)
    assert deliver(notification(environment, subscription.id, 1)) == "succeeded"
    current = subscriptions.get(environment, subscription.id)
    assert current is not None and current.circuit is None


def test_two_slow_attempts_at_once_open_the_circuit_and_a_late_2xx_drains_it_at_once(
    environment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    meanwhile = notification(environment, subscription.id, 3)

    def second_slow(url: str, body: bytes, headers: dict[str, str], **options: Any) -> Outcome:
        options["on_slow"]()  # the second slow attempt at once: presumed hanging
        opened = subscriptions.get(environment, subscription.id)
        assert opened is not None and opened.circuit is not None
        monkeypatch.setattr(sender, "post", FakeReceiver())  # any POST now fails the test
        # What comes meanwhile waits in the backlog, holding no delivery slot.
        assert deliver(meanwhile) == "backlogged"
        return HUNG

    def first_slow(url: str, body: bytes, headers: dict[str, str], **options: Any) -> Outcome:
        options["on_slow"]()
        monkeypatch.setattr(sender, "post", second_slow)
        assert deliver(notification(environment, subscription.id, 2)) == "backlogged"
        return OK  # the first one answers after all: the receiver is alive

    sent_back: list[DeliveryMessage] = []
    monkeypatch.setattr(queue, "enqueue", lambda messages, **_: sent_back.extend(messages))
    monkeypatch.setattr(sender, "post", first_slow)
    assert deliver(notification(environment, subscription.id, 1)) == "succeeded"
    # Drained at once, without waiting for a probe: both held notifications are queued again.
    assert sorted(m.notification_id for m in sent_back) == ["n2", "n3"]
    closed = subscriptions.get(environment, subscription.id)
    assert closed is not None and closed.circuit is None


def test_a_failed_probe_backs_off_and_leaves_the_backlog_as_it_was(
    environment: str,
    queues: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    third = open_by_failures(environment, subscription.id, monkeypatch)[2]
    monkeypatch.setattr(sender, "post", FakeReceiver(DOWN))
    assert probing.run(now=LATER) == {"failed": 1}

    after = subscriptions.get(environment, subscription.id)
    assert after is not None and after.circuit is not None
    assert after.circuit.state == "open" and after.circuit.probe_attempts == 1
    assert after.circuit.next_probe_at > now_iso()
    assert held(environment, subscription.id) == [third]
    logged = deliveries.get_delivery(environment, subscription.id, third.delivery_id)
    assert logged is not None and logged.status == "backlogged"
    assert [a["status_code"] for a in logged.attempts] == [None, 500]
    assert logged.attempts[-1]["next_attempt_at"] == after.circuit.next_probe_at
    assert queued(queues["queue"]) == []


def test_a_successful_probe_drains_the_backlog_oldest_first_and_closes_the_circuit(
    environment: str,
    queues: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    third = open_by_failures(environment, subscription.id, monkeypatch)[2]
    monkeypatch.setattr(sender, "post", FakeReceiver())
    started = time.time()
    waiting = [
        notification(environment, subscription.id, n, window_started_at=started + n)
        for n in range(10, 15)
    ]
    for message in waiting:
        assert deliver(message) == "backlogged"

    receiver = FakeReceiver(OK)
    monkeypatch.setattr(sender, "post", receiver)
    sent_order: list[str] = []
    real_enqueue = queue.enqueue

    def enqueue(messages: list[DeliveryMessage], **options: Any) -> None:
        sent_order.extend(m.notification_id for m in messages)
        real_enqueue(messages, **options)

    monkeypatch.setattr(queue, "enqueue", enqueue)
    assert probing.run(now=LATER) == {"drained": 1}
    assert [body for _, body, _ in receiver.sent] == [(third.body or "").encode()]
    assert sent_order == [m.notification_id for m in waiting]  # oldest first
    back = queued(queues["queue"])  # back on the shared queue, as they were
    assert sorted(back, key=lambda m: m.notification_id) == waiting
    assert backlog.oldest(environment, subscription.id, limit=10) == []
    closed = subscriptions.get(environment, subscription.id)
    assert closed is not None and closed.circuit is None
    assert closed.failing_since is None and closed.consecutive_failures == 0
    logged = deliveries.get_delivery(environment, subscription.id, third.delivery_id)
    assert logged is not None and logged.status == "succeeded"


def test_two_probe_runs_never_take_one_receiver_at_once(
    environment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    open_by_failures(environment, subscription.id, monkeypatch)
    [(env, sub, due_at)] = subscriptions.due_circuits(delivery.iso(LATER), limit=10)
    lease = now_iso()
    first = subscriptions.claim_probe(env, sub, seen_next_probe_at=due_at, lease_until=lease)
    second = subscriptions.claim_probe(env, sub, seen_next_probe_at=due_at, lease_until=lease)
    assert first is not None and second is None


def test_nothing_strands_behind_a_closed_circuit(
    environment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    open_by_failures(environment, subscription.id, monkeypatch)
    late = notification(environment, subscription.id, 9)
    opened = subscriptions.get(environment, subscription.id)
    assert opened is not None and opened.circuit is not None
    seen = opened.circuit.backlog_seq

    # An entry written after the drain read the backlog makes the close fail...
    assert backlog.add([late], window_seconds=3600) == []
    assert not subscriptions.close_circuit(environment, subscription.id, backlog_seq=seen)
    # ...and once the circuit is closed, no entry can be written behind it.
    assert subscriptions.close_circuit(environment, subscription.id, backlog_seq=seen + 1)
    refused = notification(environment, subscription.id, 10)
    assert backlog.add([refused], window_seconds=3600) == [refused]
    # Taken back: nothing waits behind the closed circuit.
    assert refused not in held(environment, subscription.id)
    receiver = FakeReceiver(OK)
    monkeypatch.setattr(sender, "post", receiver)
    assert deliver(notification(environment, subscription.id, 11)) == "succeeded"


def test_an_empty_backlog_closes_the_circuit(
    environment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    open_by_failures(environment, subscription.id, monkeypatch)
    backlog.remove(backlog.oldest(environment, subscription.id, limit=10))
    monkeypatch.setattr(sender, "post", FakeReceiver())
    assert probing.run(now=LATER) == {"closed": 1}
    closed = subscriptions.get(environment, subscription.id)
    assert closed is not None and closed.circuit is None
    assert subscriptions.due_circuits(now_iso(), limit=10) == []


def test_notifications_whose_window_ends_in_the_backlog_are_dead_and_parked(
    environment: str,
    queues: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    head = open_by_failures(environment, subscription.id, monkeypatch)[2]
    window = DELIVERY_WINDOW.total_seconds()
    stale = notification(environment, subscription.id, 7, window_started_at=time.time() - window)
    assert backlog.add([stale], window_seconds=window) == []  # older window: the head now
    fresh = notification(environment, subscription.id, 8)
    assert backlog.add([fresh], window_seconds=window) == []

    monkeypatch.setattr(sender, "post", FakeReceiver(DOWN))
    assert probing.run(now=LATER) == {"failed": 1}
    logged = deliveries.get_delivery(environment, subscription.id, stale.delivery_id)
    assert logged is not None and logged.status == "dead"
    assert logged.attempts[-1]["next_attempt_at"] is None
    assert queued(queues["dead"]) == [stale]
    left = held(environment, subscription.id)
    assert left == [head, fresh]


def test_a_disabled_subscription_is_not_probed_and_re_enabling_probes_at_once(
    environment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    open_by_failures(environment, subscription.id, monkeypatch)
    subscriptions.update(environment, subscription.id, disabled=True)
    untouched = FakeReceiver()
    monkeypatch.setattr(sender, "post", untouched)
    assert probing.run(now=LATER) == {"disabled": 1}
    assert untouched.sent == []
    assert subscriptions.due_circuits(now_iso(), limit=10) == []

    subscriptions_service.update(
        environment,
        subscription.id,
        api_version=None,
        topics=None,
        url=None,
        disabled=False,
        standard_webhooks=None,
    )
    assert [sub for _, sub, _ in subscriptions.due_circuits(now_iso(), limit=10)] == [
        subscription.id
    ]


def test_a_disabled_subscription_with_an_open_circuit_gets_nothing_new(
    environment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    open_by_failures(environment, subscription.id, monkeypatch)
    subscriptions.update(environment, subscription.id, disabled=True)
    later = notification(environment, subscription.id, 5)
    assert deliver(later) == "skipped"  # not kept for after a re-enable either
    assert later not in held(environment, subscription.id)


def test_one_receivers_probe_failing_does_not_stop_the_others(
    environment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken, fine = subscribe(environment), subscribe(environment)
    for subscription in (broken, fine):
        open_by_failures(environment, subscription.id, monkeypatch)
    real_oldest = backlog.oldest

    def oldest(environment_id: str, subscription_id: str, **options: Any) -> Any:
        if subscription_id == broken.id:
            raise RuntimeError("throttled")
        return real_oldest(environment_id, subscription_id, **options)

    monkeypatch.setattr(backlog, "oldest", oldest)
    monkeypatch.setattr(sender, "post", FakeReceiver(OK))
    assert probing.run(now=LATER) == {"error": 1, "drained": 1}


def test_a_batch_held_together_is_one_write_split_by_size_and_drained_whole(
    environment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = subscribe(environment)
    open_by_failures(environment, subscription.id, monkeypatch)
    backlog.remove(backlog.oldest(environment, subscription.id, limit=10))
    started = time.time()
    big = "x" * 40_000  # about 40 KB each: 7 of them fill a 300 KB entry
    batch = [
        notification(environment, subscription.id, n, body=big, window_started_at=started + n)
        for n in range(10)
    ]
    assert backlog.add(batch, window_seconds=3600) == []
    entries = backlog.oldest(environment, subscription.id, limit=10)
    assert [len(e.messages) for e in entries] == [7, 3]
    assert [m for e in entries for m in e.messages] == batch  # oldest window first

    receiver = FakeReceiver(OK)
    monkeypatch.setattr(sender, "post", receiver)
    sent_back: list[DeliveryMessage] = []
    monkeypatch.setattr(queue, "enqueue", lambda messages, **_: sent_back.extend(messages))
    assert probing.run(now=LATER) == {"drained": 1}
    assert [body for _, body, _ in receiver.sent] == [big.encode()]  # the head, probed
    assert sent_back == batch[1:]  # the rest, queued again in order
    assert backlog.oldest(environment, subscription.id, limit=10) == []
