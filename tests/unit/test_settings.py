"""Settings: one validated model, read once; a missing or malformed variable fails loudly."""

from __future__ import annotations

import pytest

from shared.settings import DEFAULT_SUBSCRIPTION_LIMIT, SettingsError, load_settings

MINIMAL = {"TABLE_NAME": "waymark-prod", "AWS_REGION": "eu-west-1"}


def test_a_function_environment_parses_with_defaults() -> None:
    settings = load_settings(MINIMAL)
    assert settings.table_name == "waymark-prod"
    assert settings.region == "eu-west-1"
    assert settings.webhook_subscription_limit == DEFAULT_SUBSCRIPTION_LIMIT
    assert settings.webhooks_allow_loopback is False
    assert settings.webhook_backoff_scale == 1.0
    assert settings.dynamodb_endpoint_url is None


def test_a_missing_table_name_fails_naming_it_and_never_falls_back() -> None:
    with pytest.raises(SettingsError, match="TABLE_NAME: missing"):
        load_settings({"AWS_REGION": "eu-west-1"})


def test_an_empty_variable_counts_as_missing() -> None:
    with pytest.raises(SettingsError, match="TABLE_NAME: missing"):
        load_settings({**MINIMAL, "TABLE_NAME": ""})


def test_the_region_falls_back_to_the_sdks_default_region_only() -> None:
    assert load_settings({"TABLE_NAME": "t", "AWS_DEFAULT_REGION": "us-west-2"}).region == (
        "us-west-2"
    )
    with pytest.raises(SettingsError, match="AWS_REGION: missing"):
        load_settings({"TABLE_NAME": "t"})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEBHOOK_BACKOFF_SCALE", "fast"),
        ("WEBHOOK_BACKOFF_SCALE", "0"),
        ("WEBHOOK_SUBSCRIPTION_LIMIT", "many"),
        ("WEBHOOK_SUBSCRIPTION_LIMIT", "0"),
    ],
)
def test_a_malformed_value_fails_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings({**MINIMAL, variable: value})


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(SettingsError, match=r"TABLE_NAME.*WEBHOOK_BACKOFF_SCALE"):
        load_settings({"AWS_REGION": "x", "WEBHOOK_BACKOFF_SCALE": "fast"})


def test_the_loopback_switch_is_on_only_with_1() -> None:
    assert load_settings(
        {**MINIMAL, "WAYMARK_WEBHOOKS_ALLOW_LOOPBACK": "1"}
    ).webhooks_allow_loopback
    assert not load_settings(
        {**MINIMAL, "WAYMARK_WEBHOOKS_ALLOW_LOOPBACK": "yes"}
    ).webhooks_allow_loopback


def test_a_setting_only_some_functions_need_fails_where_it_is_needed() -> None:
    settings = load_settings(MINIMAL)
    with pytest.raises(SettingsError, match="WEBHOOK_QUEUE_URL is not set"):
        settings.require("webhook_queue_url")
    queue = load_settings({**MINIMAL, "WEBHOOK_QUEUE_URL": "https://sqs/q"})
    assert queue.require("webhook_queue_url") == "https://sqs/q"
