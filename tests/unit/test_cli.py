"""The admin CLI against an in-process table."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import cli
from shared.store import tenancy


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = cli.main(["--table", "waymark-unit", "--json", *argv])
    output = capsys.readouterr()
    return code, json.loads(output.out or output.err)


def test_create_environment_and_manage_keys(table: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, environment = run(capsys, "env", "create", "Staging")
    assert code == 0
    assert environment["name"] == "Staging"
    environment_id = environment["id"]

    code, created = run(capsys, "key", "create", environment_id, "--name", "ci")
    plain = created["api_key"]
    assert plain.startswith("ak_") and len(plain) >= 29
    assert tenancy.resolve_api_key(plain) == environment_id

    code, listed = run(capsys, "key", "list", environment_id)
    assert [k["id"] for k in listed] == [created["id"]]
    assert "api_key" not in listed[0]

    code, _ = run(capsys, "key", "revoke", environment_id, created["id"])
    assert code == 0
    assert tenancy.resolve_api_key(plain) is None

    code, error = run(capsys, "key", "revoke", environment_id, created["id"])
    assert code == 1
    assert "No key" in error["error"]

    code, environments = run(capsys, "env", "list")
    assert environment_id in [e["id"] for e in environments]


def test_keys_are_stored_only_as_hashes(table: str) -> None:
    from shared.store import dynamo

    environment = tenancy.create_environment("E")
    _, plain = tenancy.create_api_key(environment.id)
    scanned = dynamo.client().scan(TableName=table)["Items"]
    assert plain not in json.dumps(scanned)
    assert tenancy.hash_api_key(plain) in json.dumps(scanned)


def test_creating_a_key_for_a_missing_environment_fails(
    table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, error = run(capsys, "key", "create", "env_missing")
    assert code == 1
    assert "env_missing" in error["error"]


def test_reindex_places_every_environments_users_and_refuses_an_unknown_one(
    table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from shared.http.models import UpsertUserBody
    from shared.services import writes
    from shared.store import dynamo, keys, user_order

    environment_id = tenancy.create_environment("Old").id
    for user_id in ("a", "b"):
        writes.upsert_user(environment_id, UpsertUserBody.model_validate({"id": user_id}))
        user_order.delete_entries(environment_id, user_id)  # as before ordered entries
    dynamo.update_existing(keys.environment(environment_id), {}, ("order_ready",))

    code, placed = run(capsys, "env", "reindex", environment_id)
    assert (code, placed) == (0, {environment_id: 2})
    assert user_order.is_ready(environment_id)
    page = user_order.page(environment_id, "name", limit=10, descending=False, starting_after=None)
    assert [user.id for user in page.items] == ["a", "b"]
    code, error = run(capsys, "env", "reindex", "env_missing")
    assert code == 1 and "No environment" in error["error"]
