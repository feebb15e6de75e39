"""The public REST API, generated from the route table (`infra/routes.py`).

Adding a function is one new `FunctionRoute` entry: this construct creates its Lambda, grants
it the table, and wires every path it serves (`ANY`, Lambda proxy, the API-key authorizer).
API Gateway's own errors (missing key, unknown path, throttling...) are rendered in the same
error envelope as the functions' errors.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from aws_cdk import Acknowledgment, CfnOutput, Duration, RemovalPolicy, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.access import access_for
from infra.constructs.domain import CustomDomain, DomainSettings
from infra.constructs.python_function import FunctionSettings, PythonFunction
from infra.constructs.table import TableConstruct
from infra.gateway import GATEWAY_ANSWERS, MESSAGE_STRING
from infra.routes import API_FUNCTIONS, AUTHORIZER, FunctionRoute

AUTHORIZATION_HEADER = "Authorization"
# API Gateway caches an authorizer's answer per Authorization header for this long. A revoked
# key stops working at once when the CLI flushes the stage's cache (`waymark key revoke`
# with `--stack`); this TTL bounds it otherwise.
AUTHORIZER_CACHE_TTL = Duration.minutes(5)

_PATH_PARAMETER = re.compile(r"\{(\w+)\}")


def _envelope(code: str, message: str) -> str:
    """The API's error body as a gateway-response template.

    `code` and `message` may be `$context` variables, which API Gateway substitutes inside the
    quotes; `$context.error.messageString` is already a quoted JSON string, so it goes in bare.
    Never put request input (path, headers) in a template: it would not be escaped.
    """
    body = json.dumps(
        {"error": {"code": code, "message": message, "request_id": "$context.requestId"}}
    )
    if message == MESSAGE_STRING:
        body = body.replace(json.dumps(message), message)
    return body


# One JSON line per request: who (environment), what, outcome, timings, and the authorizer's
# verdict. No headers or bodies: they may carry API keys and personal data.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "protocol": "$context.protocol",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integration.status",
    "environmentId": "$context.authorizer.environment_id",
    "authorizerStatus": "$context.authorizer.status",
    "authorizerLatency": "$context.authorizer.latency",
    "errorType": "$context.error.responseType",
    "errorMessage": "$context.error.message",
}


@dataclass(frozen=True)
class ApiSettings:
    """The stage-wide ceiling (per second, across every environment: each environment has
    its own limits in its usage plan, infra/usage_plans.py) and log retention. The ceiling
    guards the account's Lambda concurrency (1,000 by default) and DynamoDB."""

    throttling_rate_limit: int = 1000
    throttling_burst_limit: int = 2000
    log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS


def path_parameters(template: str) -> list[str]:
    """`/users/{user_id}` -> ["user_id"]."""
    return _PATH_PARAMETER.findall(template)


class ApiConstruct(Construct):
    """REST API + Lambda REQUEST authorizer + one function per route-table entry."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        table: TableConstruct,
        removal_policy: RemovalPolicy,
        settings: ApiSettings | None = None,
        functions: tuple[FunctionRoute, ...] = API_FUNCTIONS,
        authorizer: FunctionRoute = AUTHORIZER,
        domain: DomainSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = settings or ApiSettings()
        table_name = table.table.table_name

        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=settings.log_retention, removal_policy=removal_policy
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"waymark-{stage}",
            description="Waymark: a Userflow-compatible API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Per-environment limits: the authorizer names the environment's usage-plan key
            # (usageIdentifierKey); clients never send one.
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            # Access and execution logging need the account-level CloudWatch role; it is
            # retained on delete because every REST API in the account/region shares it.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=stage,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                # No X-Ray: see infra/constructs/python_function.py.
                tracing_enabled=False,
                metrics_enabled=True,
                # Errors only, and never request/response bodies (data trace would log keys).
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                throttling_rate_limit=settings.throttling_rate_limit,
                throttling_burst_limit=settings.throttling_burst_limit,
            ),
        )
        for answer in GATEWAY_ANSWERS:
            self.api.add_gateway_response(
                f"{answer.response_type}Response",
                type=apigw.ResponseType.of(answer.response_type),
                status_code=str(answer.status) if answer.status is not None else None,
                response_headers={
                    "Content-Type": "'application/json'",
                    **{name: f"'{value}'" for name, value in answer.headers.items()},
                },
                templates={"application/json": _envelope(answer.code, answer.message)},
            )

        # Parameters declared on a method are checked by API Gateway; bodies are validated by
        # the functions' pydantic models (one source of truth, and the API's own messages).
        self.validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )

        self.authorizer_function = PythonFunction(
            self,
            "AuthorizerFunction",
            route=authorizer,
            table_name=table_name,
            removal_policy=removal_policy,
            settings=FunctionSettings(timeout=Duration.seconds(5)),
        )
        table.grant(self.authorizer_function.role, access_for(authorizer.name))
        self.authorizer = apigw.RequestAuthorizer(
            self,
            "Authorizer",
            handler=self.authorizer_function.function,
            identity_sources=[apigw.IdentitySource.header(AUTHORIZATION_HEADER)],
            results_cache_ttl=AUTHORIZER_CACHE_TTL,
        )

        self.functions: dict[str, PythonFunction] = {}
        self.methods: list[apigw.Method] = []
        for route in functions:
            self._add_function(route, table, table_name, removal_policy)

        # Outputs with stable names, instead of RestApi's own "Endpoint" output with a
        # generated id: scripts read "ApiUrl", the CLI reads the rest (`waymark --stack`).
        self.api.node.try_remove_child("Endpoint")
        self.domain = (
            CustomDomain(self, "Domain", api=self.api, settings=domain) if domain else None
        )
        self.url = self.domain.url if self.domain else self.api.url
        for name, value, description in (
            ("ApiUrl", self.url, "Base URL of the Waymark API"),
            ("RestApiId", self.api.rest_api_id, "REST API id (usage plans, authorizer cache)"),
            ("StageName", self.api.deployment_stage.stage_name, "API stage"),
        ):
            CfnOutput(self, name, value=value, description=description).override_logical_id(name)
        self._acknowledge()

    def _acknowledge(self) -> None:
        """cdk-nag findings on the API itself, each with why it stays."""
        Validations.of(self.api.deployment_stage).acknowledge(
            Acknowledgment(
                id="AwsSolutions-APIG3",
                reason=(
                    "No AWS WAF web ACL in the base stack: every method requires an API key "
                    "checked by the authorizer and the stage is throttled. A web ACL (managed "
                    "rule groups, rate-based rules) is a per-deployment cost decision; it can be "
                    "associated with this stage without changing the API."
                ),
            )
        )
        Validations.of(self.api).acknowledge(
            Acknowledgment(
                id=(
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs]"
                ),
                reason=(
                    "The account-level role API Gateway needs to write access and execution "
                    "logs (APIG1/APIG6). AmazonAPIGatewayPushToCloudWatchLogs is the AWS-"
                    "maintained policy for exactly this role, limited to CloudWatch Logs "
                    "actions; only the API Gateway service can assume the role."
                ),
            )
        )

    def _add_function(
        self,
        route: FunctionRoute,
        table: TableConstruct,
        table_name: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        function = PythonFunction(
            self,
            f"{route.name.title()}Function",
            route=route,
            table_name=table_name,
            removal_policy=removal_policy,
            settings=FunctionSettings(
                timeout=Duration.seconds(route.timeout_seconds), memory_size=route.memory_mb
            ),
        )
        table.grant(function.role, access_for(route.name))
        self.functions[route.name] = function

        # One invoke permission per function for this API (not one per method and path, plus
        # one per test-invoke): keeps the function's resource policy small as routes grow.
        integration = apigw.LambdaIntegration(
            function.function, proxy=True, scope_permission_to_method=False
        )
        for template in route.paths:
            resource = self.api.root.resource_for_path(template)
            method = resource.add_method(
                "ANY",
                integration,
                authorizer=self.authorizer,
                authorization_type=apigw.AuthorizationType.CUSTOM,
                # The environment's usage-plan key, named by the authorizer.
                api_key_required=True,
                request_validator=self.validator,
                request_parameters={
                    f"method.request.path.{name}": True for name in path_parameters(template)
                }
                or None,
            )
            Validations.of(method).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-COG4",
                    reason=(
                        "Callers are servers holding an environment API key (Userflow's "
                        "'Authorization: Bearer' scheme), checked by the Lambda REQUEST "
                        "authorizer on every method; there are no end-user identities for a "
                        "Cognito user pool to hold."
                    ),
                )
            )
            self.methods.append(method)
