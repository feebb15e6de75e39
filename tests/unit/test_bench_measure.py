"""The benchmarks' arithmetic and the throughput baseline (bench/measure.py, bench/load.py,
bench/baseline.py): what the published figures are computed with."""

from __future__ import annotations

import json

import pytest

from bench.load import SEED_USERS, Request, headers_for, request_for
from bench.measure import Cell, overhead_rows, percentile


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),
        ([4.0, 1.0, 3.0, 2.0], 0.5, 2.0),  # order of arrival does not matter
        ([float(n) for n in range(1, 101)], 0.99, 99.0),
        ([float(n) for n in range(1, 101)], 0.5, 50.0),
        ([float(n) for n in range(1, 11)], 0.99, 10.0),  # fewer than 100: the largest
        ([7.0], 0.5, 7.0),
        ([1.0, 2.0], 1.0, 2.0),
    ],
)
def test_percentile_is_the_nearest_rank(
    values: list[float], fraction: float, expected: float
) -> None:
    assert percentile(values, fraction) == expected


def test_a_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_a_percentile_outside_zero_to_one_is_an_error(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], fraction)


def test_a_cell_counts_answered_requests_over_its_window() -> None:
    cell = Cell("user get", clients=2, seconds=2.0, latencies=(0.010, 0.020, 0.030, 0.040))
    assert cell.requests == 4
    assert cell.rps == 2.0
    assert cell.p50_ms == pytest.approx(20.0)
    assert cell.p99_ms == pytest.approx(40.0)


def test_overhead_rows_divide_each_cell_by_the_baseline_at_the_same_concurrency() -> None:
    cells = [
        Cell("base", 1, 1.0, (0.010,) * 100),  # 100 rps, p50 10 ms
        Cell("base", 8, 1.0, (0.020,) * 400),  # 400 rps, p50 20 ms
        Cell("upsert", 1, 1.0, (0.020,) * 50),  # 50 rps, p50 20 ms
        Cell("upsert", 8, 1.0, (0.030,) * 100),  # 100 rps, p50 30 ms
    ]
    rows = overhead_rows(cells, "base")
    assert [(op, clients, rps) for op, clients, rps, _ in rows] == [
        ("upsert", 1, 0.5),
        ("upsert", 8, 0.25),
    ]
    assert [p50 for *_, p50 in rows] == [pytest.approx(2.0), pytest.approx(1.5)]


def test_overhead_rows_need_a_baseline_for_every_concurrency() -> None:
    cells = [Cell("base", 1, 1.0, (0.01,)), Cell("upsert", 32, 1.0, (0.02,))]
    with pytest.raises(ValueError, match="no 'base' cell with 32 clients"):
        overhead_rows(cells, "base")


def test_upserts_of_different_clients_never_write_the_same_user() -> None:
    ids = {
        client: {request_for("user upsert", client, n).body["id"] for n in range(100)}
        for client in range(32)
    }
    for client, written in ids.items():
        assert len(written) == 20
        for other in range(client + 1, 32):
            assert not written & ids[other]


def test_reads_and_events_name_only_seeded_users() -> None:
    for n in range(300):
        assert request_for("user get", 5, n).path.removeprefix("/users/seed-").isdigit()
        get = int(request_for("user get", 5, n).path.removeprefix("/users/seed-"))
        event = request_for("event", 5, n)
        assert 0 <= get < SEED_USERS
        assert event.method == "POST" and event.path == "/events"
        assert int(event.body["user_id"].removeprefix("seed-")) < SEED_USERS


def test_the_baseline_reads_the_same_user_a_user_get_reads() -> None:
    assert request_for("baseline get", 3, 9) == Request("GET", "/baseline/seed-120")
    assert request_for("user get", 3, 9) == Request("GET", "/users/seed-120")


def test_an_unknown_operation_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown operation 'user delete'"):
        request_for("user delete", 0, 0)


def test_headers_carry_the_key_and_a_content_type_only_with_a_body() -> None:
    get = headers_for("ak_1", Request("GET", "/users"))
    post = headers_for("ak_1", Request("POST", "/users", {"id": "1"}))
    assert get["Authorization"] == "Bearer ak_1"
    assert get["Userflow-Version"] == "2020-01-03"
    assert "Content-Type" not in get
    assert post["Content-Type"] == "application/json"


def test_the_baseline_function_returns_the_users_item_through_the_local_proxy_event(
    environment: str,
) -> None:
    from bench import baseline
    from functions.users.handler import lambda_handler as users_handler
    from infra.local.server import build_event
    from tests.support import NO_CONTEXT, api_event

    baseline._client.cache_clear()  # a client inside this test's moto
    event = build_event(
        method="GET",
        raw_path="/baseline/ada",
        headers=[("Authorization", "Bearer ak_x")],
        body=b"",
        source_ip="127.0.0.1",
        resource="/baseline/{user_id}",
        path_parameters={"user_id": "ada"},
        request_id="r-1",
        authorizer={"environment_id": environment},
    )
    assert baseline.lambda_handler(event, None)["statusCode"] == 404
    created = api_event("POST", "/users", environment_id=environment, body={"id": "ada"})
    assert users_handler(created, NO_CONTEXT)["statusCode"] == 200
    answer = baseline.lambda_handler(event, None)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["id"] == "ada"
    baseline._client.cache_clear()


def _webhook_section(noisy_delivered: int) -> str:
    from bench.webhooks import Flow, ScenarioResult, _section

    flows = [
        Flow("1 subscription", 1, 1, 300, 300, write_seconds=6.0, seconds=8.0),
        Flow("50 subscriptions", 1, 50, 40, 2000, write_seconds=1.0, seconds=40.0),
        Flow("10 environments", 10, 1, 300, 300, write_seconds=4.0, seconds=12.0),
    ]
    scenarios = [
        ScenarioResult("healthy only", 450, 450, 9.0, 1.0, 2.0),
        ScenarioResult("+ dead", 450, noisy_delivered, 10.0, 2.0, 3.0),
    ]
    dispatch = [(1, 1, 1.0, "1 x Query", 600.0), (10, 10, 10.0, "10 x Query", 900.0)]
    timings = dict.fromkeys(("latency", "flows", "function", "dispatch", "noisy"), 1.0)
    section = _section([0.1, 0.3], flows, {1: 100.0, 50: 60.0}, dispatch, scenarios, timings, 5)
    return section.markdown()


def test_the_webhook_section_reports_each_runs_deliveries_per_second() -> None:
    page = _webhook_section(noisy_delivered=450)
    assert "| 1 subscription | 1 | 1 | 300 | 300 | 6.0 | 8.0 | 37.5 |" in page
    assert "| 50 subscriptions | 1 | 50 | 40 | 2,000 | 1.0 | 40.0 | 50.0 |" in page
    assert "dead receivers did not starve them" in page


def test_the_webhook_section_says_when_dead_receivers_starved_healthy_ones() -> None:
    page = _webhook_section(noisy_delivered=300)
    assert "got only 300 of 450 notifications" in page
    assert "did not starve them" not in page


@pytest.mark.parametrize(
    ("rate", "words"),
    [
        (50.0, "slower than"),
        (79.0, "slower than"),
        (80.0, "about the same as"),
        (120.0, "about the same as"),
        (121.0, "faster than"),
    ],
)
def test_rates_within_a_fifth_of_each_other_are_about_the_same(rate: float, words: str) -> None:
    from bench.webhooks import _compared

    assert _compared(rate, 100.0) == words
