"""The optional custom domain: mapped at the root of the API's stage, with its DNS record."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra.app import build_app
from infra.constructs.domain import DomainSettings

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
CONTEXT = {
    "domainName": "api.example.com",
    "certificateArn": CERTIFICATE,
    "hostedZoneId": "Z123",
    "hostedZoneName": "example.com",
}


@pytest.fixture(scope="module")
def with_domain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, list[str]]:
    outdir: Path = tmp_path_factory.mktemp("cdk-domain")
    app, stack = build_app(str(outdir), "dev", nag=False, context=CONTEXT)
    assembly = app.synth()
    template = Template.from_json(assembly.get_stack_artifact(stack.artifact_id).template)
    findings = [v.rule_name for v in AwsSolutionsChecks().validate_scope(stack).violations]
    return template, findings


def test_the_domain_uses_the_certificate_and_modern_tls(
    with_domain: tuple[Template, list[str]],
) -> None:
    template, _ = with_domain
    template.has_resource_properties(
        "AWS::ApiGateway::DomainName",
        {
            "DomainName": "api.example.com",
            "RegionalCertificateArn": CERTIFICATE,
            "EndpointConfiguration": {"Types": ["REGIONAL"]},
            "SecurityPolicy": "TLS_1_2",
        },
    )


def test_the_domain_maps_the_stage_at_the_root(with_domain: tuple[Template, list[str]]) -> None:
    template, _ = with_domain
    (mapping,) = template.find_resources("AWS::ApiGateway::BasePathMapping").values()
    assert "BasePath" not in mapping["Properties"]  # "/users" is the stage's "/users"
    (stage_id,) = template.find_resources("AWS::ApiGateway::Stage")
    assert mapping["Properties"]["Stage"] == {"Ref": stage_id}


def test_the_record_aliases_the_domain(with_domain: tuple[Template, list[str]]) -> None:
    template, _ = with_domain
    template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {"Name": "api.example.com.", "Type": "A", "HostedZoneId": "Z123"},
    )


def test_the_api_url_is_the_domain(with_domain: tuple[Template, list[str]]) -> None:
    template, _ = with_domain
    template.has_output("ApiUrl", {"Value": "https://api.example.com/"})


def test_the_domain_passes_cdk_nag(with_domain: tuple[Template, list[str]]) -> None:
    _, findings = with_domain
    assert findings == []


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({"domainName": "api.example.com"}, "certificateArn"),
        ({**CONTEXT, "hostedZoneName": None}, "hostedZoneId"),
    ],
)
def test_an_incomplete_domain_is_refused(context: dict[str, str | None], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        DomainSettings.from_context(context)


def test_no_domain_without_its_name() -> None:
    assert DomainSettings.from_context({"certificateArn": CERTIFICATE}) is None
