"""An optional custom domain for the API, mapped at its root.

With `-c domainName=api.example.com -c certificateArn=arn:aws:acm:...` (and, to create the
DNS record too, `-c hostedZoneId=Z... -c hostedZoneName=example.com`), the API answers at
`https://api.example.com/users`, so `url` and `next_page_url` (paths from the root, as the
hosted API gives them) resolve against the domain as they do against api.userflow.com. The
certificate must be in the stack's region (a regional endpoint) and cover the domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct


@dataclass(frozen=True)
class DomainSettings:
    domain_name: str
    certificate_arn: str
    hosted_zone_id: str | None = None
    hosted_zone_name: str | None = None

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> DomainSettings | None:
        """The `domainName`, `certificateArn`, `hostedZoneId`, `hostedZoneName` context
        values; None without a domain. A domain without its certificate is an error."""
        domain = context.get("domainName")
        if not domain:
            return None
        certificate = context.get("certificateArn")
        if not certificate:
            raise ValueError("-c domainName needs -c certificateArn (an ACM certificate)")
        zone_id, zone_name = context.get("hostedZoneId"), context.get("hostedZoneName")
        if bool(zone_id) != bool(zone_name):
            raise ValueError("give both -c hostedZoneId and -c hostedZoneName, or neither")
        return cls(str(domain), str(certificate), zone_id or None, zone_name or None)


class CustomDomain(Construct):
    """The API Gateway domain name, its root mapping to the API's stage, and the alias record."""

    def __init__(
        self, scope: Construct, construct_id: str, *, api: apigw.RestApi, settings: DomainSettings
    ) -> None:
        super().__init__(scope, construct_id)
        self.domain = apigw.DomainName(
            self,
            "Name",
            domain_name=settings.domain_name,
            certificate=acm.Certificate.from_certificate_arn(
                self, "Certificate", settings.certificate_arn
            ),
            endpoint_type=apigw.EndpointType.REGIONAL,
            security_policy=apigw.SecurityPolicy.TLS_1_2,
        )
        # At the root (no base path): `/users` on the domain is `/users` of the stage.
        self.domain.add_base_path_mapping(api, stage=api.deployment_stage)
        self.record: route53.ARecord | None = None
        if settings.hosted_zone_id and settings.hosted_zone_name:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self,
                "Zone",
                hosted_zone_id=settings.hosted_zone_id,
                zone_name=settings.hosted_zone_name,
            )
            self.record = route53.ARecord(
                self,
                "Alias",
                zone=zone,
                record_name=settings.domain_name,
                target=route53.RecordTarget.from_alias(targets.ApiGatewayDomain(self.domain)),
            )
        self.url = f"https://{settings.domain_name}/"
