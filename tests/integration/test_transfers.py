"""Import and export jobs through HTTP on the local stack: files in moto's S3, steps through
the local jobs queue, rows in DynamoDB Local."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.conftest import ApiClient
from tests.integration.content_support import author, ok, start
from tests.integration.receivers import Receiver
from tests.integration.transfer_support import job, row_errors, run_export, run_import


def ndjson(rows: list[Any]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def user_row(n: int) -> dict[str, Any]:
    return {
        "id": f"imp-{n:05d}",
        "attributes": {
            "name": f"Person {n}",
            "email": f"person{n}@example.com",
            "plan": ["free", "pro", "team"][n % 3],
            "logins": n,
            "score": n / 8,
            "vip": n % 7 == 0,
            "tags": [f"t{n % 5}", "imported"],
            "signed_up_at": f"2024-01-{n % 28 + 1:02d}T03:04:05.000+00:00",
        },
    }


def test_ten_thousand_users_in_from_a_file_and_back_out_unchanged(api: ApiClient) -> None:
    rows = [user_row(n) for n in range(10_000)]
    started = time.monotonic()
    imported = run_import(api, ndjson(rows))
    import_seconds = time.monotonic() - started
    assert imported["status"] == "succeeded", imported
    assert imported["progress"] == {"done": 10_000, "failed": 0, "total": 10_000}

    started = time.monotonic()
    exported, data = run_export(api, object_type="users", format="ndjson")
    export_seconds = time.monotonic() - started
    print(
        f"\n10,000 users: import {import_seconds:.0f} s ({10_000 / import_seconds:.0f} rows/s), "
        f"export {export_seconds:.1f} s ({len(data):,} bytes) on DynamoDB Local"
    )
    assert exported["progress"] == {"done": 10_000, "failed": 0, "total": 10_000}
    back = lines(data)
    assert len(back) == 10_000
    assert {u["id"]: u["attributes"] for u in back} == {r["id"]: r["attributes"] for r in rows}
    assert {u["object"] for u in back} == {"user"}


def test_bad_rows_are_reported_with_their_line_and_the_rest_is_imported(api: ApiClient) -> None:
    data = b"\n".join(
        [
            json.dumps({"id": "good-1", "attributes": {"plan": "pro"}}).encode(),
            b'{"id": "broken", ',  # line 2
            b"",  # a blank line: not a row
            b'["not", "an", "object"]',  # line 4
            json.dumps({"id": "good-2"}).encode(),
            json.dumps({"id": "x", "attributes": {"bad name!": 1}}).encode(),  # line 6
            json.dumps({"id": "y", "unknown": True}).encode(),  # line 7
            json.dumps({"id": "z", "attributes": {"logins": {"add": 1}}}).encode(),  # line 8
            json.dumps({"id": "search"}).encode(),  # line 9
            b'{"id": "huge", "attributes": {"bio": "' + b"x" * 300_000 + b'"}}',  # line 10
            json.dumps({"id": "good-3", "groups": [{"id": "acme"}]}).encode(),
        ]
    )
    finished = run_import(api, data)
    assert finished["status"] == "succeeded"
    assert finished["progress"] == {"done": 3, "failed": 7, "total": 10}
    errors = row_errors(api, finished["id"])
    assert [(e["row"], e["object_id"], e["error"]["code"]) for e in errors] == [
        (2, None, "invalid_request"),
        (4, None, "invalid_request"),
        (6, "x", "invalid_request"),
        (7, "y", "invalid_request"),
        (8, "z", "invalid_request"),
        (9, "search", "invalid_request"),
        (10, None, "invalid_request"),
    ]
    messages = [e["error"]["message"] for e in errors]
    assert "not valid JSON" in messages[0]
    assert "must be a JSON object" in messages[1]
    assert "bad name!" in messages[2]
    assert messages[3] == "Invalid `unknown`: unknown field."
    assert "cannot `add`" in messages[4]
    assert "reserved" in messages[5]
    assert "longer than 262,144 bytes" in messages[6]
    assert {e["object"] for e in errors} == {"import_row_error"}
    for user_id in ("good-1", "good-2", "good-3"):
        assert api.request("GET", f"/users/{user_id}").status == 200
    for user_id in ("x", "y", "z", "huge"):
        assert api.request("GET", f"/users/{user_id}").status == 404


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def test_the_same_file_twice_changes_nothing_the_second_time(
    api: ApiClient, receiver: Receiver, wait_for_streams: Callable[[], None]
) -> None:
    rows = [
        {
            "id": f"twice-{n}",
            "attributes": {"n": n, "tags": {"append": ["a"]}, "first": {"set_once": "x"}},
            "memberships": [{"attributes": {"role": "m"}, "group": {"id": "g", "attributes": {}}}],
        }
        for n in range(30)
    ]
    data = ndjson(rows)
    assert run_import(api, data)["progress"]["done"] == 30
    before = lines(run_export(api, object_type="users")[1])
    wait_for_streams()
    subscription = ok(
        api.request("POST", "/webhook_subscriptions", json={"url": receiver.url, "topics": ["*"]})
    )
    assert run_import(api, data)["progress"] == {"done": 30, "failed": 0, "total": 30}
    wait_for_streams()
    time.sleep(1.0)  # anything the dispatcher queued has reached the receiver by now
    assert receiver.received == []  # no user, group or membership changed
    assert lines(run_export(api, object_type="users")[1]) == before
    api.request("DELETE", f"/webhook_subscriptions/{subscription['id']}")


def test_csv_in_and_out_with_types_quotes_and_groups(api: ApiClient) -> None:
    data = (
        b"id,name,logins:number,vip:boolean,tags:list,joined:datetime\r\n"
        b'c1,"Ann, the first",3,true,"[""a"",""b""]",2024-05-01T10:00:00Z\r\n'
        b'c2,"Bob\nTwo lines",,false,,\r\n'
        b"c3,Cyd,not-a-number,,,\r\n"
    )
    finished = run_import(api, data, file_format="csv")
    assert finished["progress"] == {"done": 2, "failed": 1, "total": 3}
    (error,) = row_errors(api, finished["id"])
    assert (error["row"], error["object_id"]) == (5, "c3")
    assert "cannot be stored as number" in error["error"]["message"]
    assert ok(api.request("GET", "/users/c1"))["attributes"] == {
        "joined": "2024-05-01T10:00:00.000+00:00",
        "logins": 3,
        "name": "Ann, the first",
        "tags": ["a", "b"],
        "vip": True,
    }
    assert ok(api.request("GET", "/users/c2"))["attributes"] == {
        "name": "Bob\nTwo lines",
        "vip": False,
    }

    _, exported = run_export(api, object_type="users", format="csv")
    table = list(csv.reader(io.StringIO(exported.decode())))
    assert table[0] == [
        "id",
        "joined:datetime",
        "logins:number",
        "name:string",
        "tags:list",
        "vip:boolean",
    ]
    assert sorted(table[1:]) == [
        ["c1", "2024-05-01T10:00:00.000+00:00", "3", "Ann, the first", '["a","b"]', "true"],
        ["c2", "", "", "Bob\nTwo lines", "", "false"],
    ]
    # The export is an import file: read back, it gives the same users.
    again = run_import(api, exported, file_format="csv")
    assert again["progress"] == {"done": 2, "failed": 0, "total": 2}

    groups = ndjson([{"id": "acme", "attributes": {"plan": "pro"}}, {"id": "initech"}])
    assert run_import(api, groups, object_type="groups")["progress"]["done"] == 2
    _, exported_groups = run_export(api, object_type="groups")
    assert sorted(g["id"] for g in lines(exported_groups)) == ["acme", "initech"]


def test_an_export_filtered_by_a_condition(api: ApiClient) -> None:
    rows = [
        {"id": f"f{n}", "attributes": {"plan": "pro" if n % 4 == 0 else "free"}} for n in range(40)
    ]
    run_import(api, ndjson(rows))
    condition = {"type": "attribute", "attribute_name": "plan", "operator": "eq", "value": "pro"}
    finished, data = run_export(api, object_type="users", condition=condition)
    assert finished["condition"] == condition
    # Rows of different ids are written side by side: created in about the file's order.
    assert sorted(u["id"] for u in lines(data)) == sorted(f"f{n}" for n in range(0, 40, 4))
    assert finished["progress"]["done"] == finished["progress"]["total"] == 10


def test_events_and_content_sessions_export(api: ApiClient) -> None:
    ok(api.request("POST", "/users", json={"id": "ev"}))
    for name in ("signed_up", "clicked", "clicked"):
        ok(
            api.request(
                "POST", "/events", json={"user_id": "ev", "name": name, "attributes": {"x": 1}}
            )
        )
    condition = {
        "type": "attribute",
        "attribute_name": "name",
        "operator": "eq",
        "value": "clicked",
    }
    _, data = run_export(api, object_type="events", condition=condition)
    assert [e["name"] for e in lines(data)] == ["clicked", "clicked"]
    flow = author(api)
    session = start(api, flow["id"], "ev")
    _, sessions = run_export(api, object_type="content_sessions", format="csv")
    table = list(csv.reader(io.StringIO(sessions.decode())))
    assert table[0][:3] == ["id", "content_id", "version_id"]
    assert [row[0] for row in table[1:]] == [session["id"]]
    # The session's built-in event is an event too.
    _, everything = run_export(api, object_type="events")
    assert [e["name"] for e in lines(everything)] == [
        "signed_up",
        "clicked",
        "clicked",
        "flow_started",
    ]


def test_job_requests_that_cannot_run_are_400s_and_404s(api: ApiClient) -> None:
    created = job(api, "/imports", {"object_type": "users"})
    not_uploaded = api.request("POST", f"/imports/{created['id']}/start")
    assert not_uploaded.status == 400
    assert "upload_url" in not_uploaded.json()["error"]["message"]
    assert api.request("POST", "/imports", json={"object_type": "events"}).status == 400
    assert api.request("POST", "/imports", json={"object_type": "users", "x": 1}).status == 400
    bad_condition = {"object_type": "users", "condition": {"type": "nope"}}
    assert api.request("POST", "/exports", json=bad_condition).status == 400
    assert api.request("GET", "/imports/nope").status == 404
    assert api.request("GET", f"/exports/{created['id']}").status == 404  # an import's id
    bad_header = run_import(api, b"name\nAnn\n", file_format="csv")
    assert bad_header["status"] == "failed"
    assert "needs an `id` column" in bad_header["error"]["message"]
