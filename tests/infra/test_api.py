"""The REST API follows the route table; API Gateway's own errors use the API's envelope."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.constructs.api import path_parameters
from infra.gateway import GATEWAY_ANSWERS
from infra.routes import API_FUNCTIONS, AUTHORIZER, FunctionRoute
from shared.domain.rate_limits import DEFAULT_LIMITS
from tests.infra.conftest import Synthesized

ROUTE_PATHS = [(route, path) for route in API_FUNCTIONS for path in route.paths]


def _resource_paths(dev: Synthesized) -> dict[str, str]:
    """API Gateway resource logical id -> its full path ("/users/{user_id}")."""
    resources = dev.resources("AWS::ApiGateway::Resource")

    def full_path(logical_id: str) -> str:
        properties = resources[logical_id]["Properties"]
        parent = properties["ParentId"]
        prefix = "" if "Fn::GetAtt" in parent else full_path(parent["Ref"])
        return f"{prefix}/{properties['PathPart']}"

    return {logical_id: full_path(logical_id) for logical_id in resources}


def _methods_by_path(dev: Synthesized) -> dict[str, list[dict[str, Any]]]:
    paths = _resource_paths(dev)
    found: dict[str, list[dict[str, Any]]] = {}
    for method in dev.resources("AWS::ApiGateway::Method").values():
        path = paths[method["Properties"]["ResourceId"]["Ref"]]
        found.setdefault(path, []).append(method["Properties"])
    return found


def test_one_any_method_per_route_path_and_nothing_else(dev: Synthesized) -> None:
    methods = _methods_by_path(dev)
    assert set(methods) == {path for _, path in ROUTE_PATHS}
    for path, on_path in methods.items():
        assert [method["HttpMethod"] for method in on_path] == ["ANY"], path


@pytest.mark.parametrize(
    ("route", "path"), ROUTE_PATHS, ids=[f"{r.name}:{p}" for r, p in ROUTE_PATHS]
)
def test_route_path_proxies_to_its_function_behind_the_authorizer(
    dev: Synthesized, route: FunctionRoute, path: str
) -> None:
    (method,) = _methods_by_path(dev)[path]
    (authorizer_id,) = dev.resources("AWS::ApiGateway::Authorizer")
    assert method["AuthorizationType"] == "CUSTOM"
    assert method["AuthorizerId"] == {"Ref": authorizer_id}
    # The environment's usage-plan key, named by the authorizer: per-environment limits.
    assert method["ApiKeyRequired"] is True
    integration = method["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert integration["IntegrationHttpMethod"] == "POST"
    assert {"Fn::GetAtt": [dev.function_id(route.handler), "Arn"]} in integration["Uri"][
        "Fn::Join"
    ][1]
    expected_parameters = {f"method.request.path.{name}": True for name in path_parameters(path)}
    assert method.get("RequestParameters", {}) == expected_parameters
    assert "RequestValidatorId" in method


def test_request_authorizer_on_the_authorization_header_cached_five_minutes(
    dev: Synthesized,
) -> None:
    dev.template.resource_count_is("AWS::ApiGateway::Authorizer", 1)
    (authorizer,) = dev.resources("AWS::ApiGateway::Authorizer").values()
    properties = authorizer["Properties"]
    assert properties["Type"] == "REQUEST"
    assert properties["IdentitySource"] == "method.request.header.Authorization"
    assert properties["AuthorizerResultTtlInSeconds"] == 300
    uri_parts = properties["AuthorizerUri"]["Fn::Join"][1]
    assert {"Fn::GetAtt": [dev.function_id(AUTHORIZER.handler), "Arn"]} in uri_parts


def test_one_invoke_permission_per_function(dev: Synthesized) -> None:
    permissions = [
        permission
        for permission in dev.resources("AWS::Lambda::Permission").values()
        if permission["Properties"]["Principal"] != "events.amazonaws.com"  # the probe's rule
    ]
    targets = [
        permission["Properties"]["FunctionName"]["Fn::GetAtt"][0] for permission in permissions
    ]
    expected = {dev.function_id(route.handler) for route in (*API_FUNCTIONS, AUTHORIZER)}
    assert sorted(targets) == sorted(expected)
    for permission in permissions:
        assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"


@pytest.mark.parametrize("error", GATEWAY_ANSWERS, ids=lambda error: error.response_type)
def test_gateway_response_renders_the_error_envelope(dev: Synthesized, error: Any) -> None:
    (response,) = [
        r["Properties"]
        for r in dev.resources("AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == error.response_type
    ]
    assert response.get("StatusCode") == (str(error.status) if error.status else None)
    assert response["ResponseParameters"] == {
        "gatewayresponse.header.Content-Type": "'application/json'",
        **{f"gatewayresponse.header.{name}": f"'{value}'" for name, value in error.headers.items()},
    }
    # $context.error.messageString is a quoted string at run time: stand in a literal for it.
    body = response["ResponseTemplates"]["application/json"].replace(
        "$context.error.messageString", '"Some message"'
    )
    envelope = json.loads(body)
    assert set(envelope) == {"error"}
    assert set(envelope["error"]) == {"code", "message", "request_id"}
    assert envelope["error"]["request_id"] == "$context.requestId"
    assert envelope["error"]["code"] == error.code
    assert envelope["error"]["message"]


EXPECTED_ERRORS = {
    "UNAUTHORIZED": ("401", "invalid_api_key"),
    "ACCESS_DENIED": ("401", "$context.authorizer.error_code"),
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found"),
    "THROTTLED": ("429", "rate_limited"),
    "QUOTA_EXCEEDED": ("429", "rate_limited"),
    "INVALID_API_KEY": ("403", "forbidden"),
    "DEFAULT_4XX": (None, "invalid_request"),
    "DEFAULT_5XX": (None, "internal_error"),
}


def test_throttled_answers_say_when_to_retry(dev: Synthesized) -> None:
    for response_type in ("THROTTLED", "QUOTA_EXCEEDED"):
        (response,) = [
            r["Properties"]
            for r in dev.resources("AWS::ApiGateway::GatewayResponse").values()
            if r["Properties"]["ResponseType"] == response_type
        ]
        retry_after = response["ResponseParameters"]["gatewayresponse.header.Retry-After"]
        assert re.fullmatch(r"'[1-9][0-9]*'", retry_after), (response_type, retry_after)


def test_the_authorizer_names_the_usage_plan_key(dev: Synthesized) -> None:
    (api,) = dev.resources("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"


@pytest.mark.parametrize("response_type", sorted(EXPECTED_ERRORS))
def test_gateway_error_statuses_and_codes(dev: Synthesized, response_type: str) -> None:
    status, code = EXPECTED_ERRORS[response_type]
    (response,) = [
        r["Properties"]
        for r in dev.resources("AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == response_type
    ]
    assert response.get("StatusCode") == status
    assert (
        json.loads(
            response["ResponseTemplates"]["application/json"].replace(
                "$context.error.messageString", '""'
            )
        )["error"]["code"]
        == code
    )


def test_access_denied_passes_the_authorizer_message_through(dev: Synthesized) -> None:
    dev.template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "ACCESS_DENIED",
            "ResponseTemplates": {
                "application/json": Match.string_like_regexp(
                    r"\$context\.authorizer\.error_message"
                )
            },
        },
    )


def test_stage_logs_and_throttles_without_tracing(dev: Synthesized) -> None:
    (log_group_id,) = [
        logical_id
        for logical_id in dev.resources("AWS::Logs::LogGroup")
        if logical_id.startswith("ApiAccessLogs")
    ]
    (stage,) = dev.resources("AWS::ApiGateway::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == "dev"
    # No X-Ray: the functions record no segments (infra/constructs/python_function.py).
    assert properties.get("TracingEnabled", False) is False
    assert {"Ref": log_group_id} in properties["AccessLogSetting"]["DestinationArn"]["Fn::Join"][1]
    access_format = json.loads(properties["AccessLogSetting"]["Format"])
    assert access_format["requestId"] == "$context.requestId"
    (settings,) = properties["MethodSettings"]
    assert settings["HttpMethod"] == "*"
    assert settings["ResourcePath"] == "/*"
    assert settings["LoggingLevel"] in {"ERROR", "INFO"}
    assert settings["DataTraceEnabled"] is False
    # The stage-wide ceiling stands above any one environment's default limits.
    assert settings["ThrottlingRateLimit"] > DEFAULT_LIMITS.rate
    assert settings["ThrottlingBurstLimit"] >= settings["ThrottlingRateLimit"]


def test_request_validator_checks_parameters(dev: Synthesized) -> None:
    dev.template.resource_count_is("AWS::ApiGateway::RequestValidator", 1)
    dev.template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator",
        {"ValidateRequestParameters": True, "ValidateRequestBody": True},
    )


def test_outputs_are_what_scripts_and_the_cli_read(dev: Synthesized) -> None:
    outputs = dev.template_json["Outputs"]
    assert set(outputs) == {"ApiUrl", "RestApiId", "StageName", "TableName", "SecretsKeyArn"}
    (stage_id,) = dev.resources("AWS::ApiGateway::Stage")
    (api_id,) = dev.resources("AWS::ApiGateway::RestApi")
    (table_id,) = dev.resources("AWS::DynamoDB::Table")
    assert {"Ref": stage_id} in outputs["ApiUrl"]["Value"]["Fn::Join"][1]
    assert outputs["RestApiId"]["Value"] == {"Ref": api_id}
    assert outputs["StageName"]["Value"] == {"Ref": stage_id}
    assert outputs["TableName"]["Value"] == {"Ref": table_id}
    key_id = dev.logical_id(dev.stack.webhooks.secrets_key)
    assert outputs["SecretsKeyArn"]["Value"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_no_custom_domain_unless_asked(dev: Synthesized) -> None:
    assert not dev.resources("AWS::ApiGateway::DomainName")
    assert not dev.resources("AWS::Route53::RecordSet")


def test_prod_stage_is_named_prod(prod: Synthesized) -> None:
    prod.template.has_resource_properties("AWS::ApiGateway::Stage", {"StageName": "prod"})
