"""Per-environment rate limits in AWS: the CLI keeps each environment's usage-plan key in the
plan of its limits (API Gateway on moto), and flushes the authorizer cache on revocation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra import cli
from infra.usage_plans import StageApi, UsagePlans
from shared.domain.rate_limits import DEFAULT_LIMITS, RateLimits, usage_key
from shared.store import tenancy

# Environment ids as tenancy makes them: `env_` and 16 characters.
ENV_A, ENV_B = "env_" + "a" * 16, "env_" + "b" * 16


@pytest.fixture
def stage(table: str) -> Iterator[StageApi]:
    """A deployed REST API stage (moto), inside the table fixture's mock."""
    client = boto3.client("apigateway", region_name="us-east-1")
    api_id = client.create_rest_api(name="waymark-dev")["id"]
    root = client.get_resources(restApiId=api_id)["items"][0]["id"]
    client.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    client.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    client.create_deployment(restApiId=api_id, stageName="dev")
    yield StageApi(api_id, "dev")


def _plans_of(client: Any, environment_id: str, api: StageApi) -> list[dict[str, Any]]:
    plans = UsagePlans(client, api)
    key_id = plans.ensure_key(environment_id)
    return list(client.get_usage_plans(keyId=key_id)["items"])


def test_an_environment_gets_a_key_valued_as_the_authorizer_names_it(stage: StageApi) -> None:
    client = boto3.client("apigateway", region_name="us-east-1")
    plans = UsagePlans(client, stage)
    plans.assign(ENV_A, DEFAULT_LIMITS)
    key_id = plans.ensure_key(ENV_A)
    key = client.get_api_key(apiKey=key_id, includeValue=True)
    assert key["value"] == usage_key(ENV_A)
    assert key["name"] == f"waymark-dev-{ENV_A}"
    assert plans.ensure_key(ENV_A) == key_id  # found, not made again


def test_the_plan_carries_the_limits_on_the_stage(stage: StageApi) -> None:
    client = boto3.client("apigateway", region_name="us-east-1")
    UsagePlans(client, stage).assign(ENV_A, RateLimits(rate=5, burst=10, daily_quota=1000))
    (plan,) = _plans_of(client, ENV_A, stage)
    assert plan["throttle"] == {"rateLimit": 5.0, "burstLimit": 10}
    assert plan["quota"]["limit"] == 1000 and plan["quota"]["period"] == "DAY"
    assert plan["apiStages"] == [{"apiId": stage.rest_api_id, "stage": "dev"}]


def test_new_limits_move_the_key_to_one_plan_and_share_plans(stage: StageApi) -> None:
    client = boto3.client("apigateway", region_name="us-east-1")
    plans = UsagePlans(client, stage)
    first = plans.assign(ENV_A, DEFAULT_LIMITS)
    plans.assign(ENV_B, DEFAULT_LIMITS)
    assert plans.assign(ENV_B, DEFAULT_LIMITS) == first  # same limits, same plan
    moved = plans.assign(ENV_A, RateLimits(rate=1, burst=1))
    assert moved != first
    assert [p["id"] for p in _plans_of(client, ENV_A, stage)] == [moved]
    assert [p["id"] for p in _plans_of(client, ENV_B, stage)] == [first]


class FlushRecorder:
    def __init__(self) -> None:
        self.flushed: list[dict[str, str]] = []

    def flush_stage_authorizers_cache(self, **arguments: str) -> None:
        self.flushed.append(arguments)


def test_revoking_a_key_flushes_the_stages_authorizer_cache(
    environment: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    record, plain = tenancy.create_api_key(environment)
    recorder = FlushRecorder()
    plans = UsagePlans(recorder, StageApi("api123", "prod"))
    monkeypatch.setattr(cli, "configure_target", lambda arguments: plans)
    assert cli.main(["--json", "key", "revoke", environment, record.id]) == 0
    assert json.loads(capsys.readouterr().out)["effective"] == "now"
    assert recorder.flushed == [{"restApiId": "api123", "stageName": "prod"}]
    assert tenancy.resolve_api_key(plain) is None


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = cli.main(["--table", "waymark-unit", "--json", *argv])
    output = capsys.readouterr()
    return code, json.loads(output.out or output.err)


def test_limits_are_recorded_shown_and_reset(
    environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, shown = run(capsys, "env", "show", environment)
    assert code == 0
    assert shown["rate_limits"] == {
        "rate": 100.0,
        "burst": 200,
        "daily_quota": None,
        "default": True,
    }
    code, shown = run(capsys, "env", "limits", environment, "--rate", "5", "--burst", "10")
    assert shown["rate_limits"] == {"rate": 5.0, "burst": 10, "daily_quota": None, "default": False}
    code, shown = run(capsys, "env", "limits", environment, "--daily-quota", "1000")
    assert shown["rate_limits"]["daily_quota"] == 1000 and shown["rate_limits"]["rate"] == 5.0
    code, shown = run(capsys, "env", "limits", environment, "--no-quota")
    assert shown["rate_limits"]["daily_quota"] is None
    code, shown = run(capsys, "env", "limits", environment, "--default")
    assert shown["rate_limits"]["default"] is True
    found = tenancy.get_environment(environment)
    assert found is not None and found.rate_limits is None


def test_impossible_limits_are_refused_and_change_nothing(
    environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, error = run(capsys, "env", "limits", environment, "--rate", "0")
    assert code == 1
    assert "rate" in error["error"]
    found = tenancy.get_environment(environment)
    assert found is not None and found.rate_limits is None


def test_limits_of_a_missing_environment_are_a_clear_error(
    table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, error = run(capsys, "env", "limits", "env_missing", "--rate", "5")
    assert code == 1
    assert "env_missing" in error["error"]


def test_with_an_api_the_cli_keeps_usage_plans_in_step(
    stage: StageApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api = ["--rest-api-id", stage.rest_api_id, "--stage", stage.stage]
    code, created = run(capsys, *api, "env", "create", "Production")
    assert code == 0
    client = boto3.client("apigateway", region_name="us-east-1")
    (plan,) = _plans_of(client, created["id"], stage)
    assert plan["throttle"] == {"rateLimit": 100.0, "burstLimit": 200}
    run(capsys, *api, "env", "limits", created["id"], "--rate", "7", "--burst", "9")
    (plan,) = _plans_of(client, created["id"], stage)
    assert plan["throttle"] == {"rateLimit": 7.0, "burstLimit": 9}
    code, synced = run(capsys, *api, "env", "sync")
    assert code == 0 and synced == {"synced": 1}
